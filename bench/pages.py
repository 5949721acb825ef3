"""Measure the pages people open at scale (`make bench-pages`): the secretariat's landing page, a focal point's home
page for the largest state, an item page, /review/ (matrix and table), the admin index, the admin implementation
list (unfiltered, filtered, searched) and the public overview. Each page: one cold request (the first after the
Django cache is cleared; PostgreSQL's own buffers stay warm) and N warm ones, with their SQL query counts, against
a target (warm median; /review/ also cold, its summary cache empty). In-process through Django's test client: no
gunicorn, no network. Exits non-zero when a page misses its target."""

import statistics
import time
from dataclasses import dataclass, field

from django.apps import apps as django_apps
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection
from django.db.backends.signals import connection_created
from django.db.models import Count
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from bench import synthetic
from tracker.core.models import Body, FocalPointDesignation, Implementation, MemberState, Recommendation
from tracker.core.permissions import FOCAL_POINT_GROUP, SECRETARIAT_GROUP
from tracker.core.roles import ensure_roles

TARGET_MS = 300
TIMEOUT_S = 30
SECRETARIAT, FOCAL, PUBLIC = "secretariat", "focal point", "public"


@dataclass
class Page:
    name: str
    path: str
    who: str
    cold_target: bool = False  # the first request after a cache clear has a target too


@dataclass
class Result:
    page: Page
    cold_ms: float | None = None
    cold_queries: int | None = None
    warm_ms: list[float] = field(default_factory=list)
    warm_queries: int | None = None
    error: str = ""

    def misses(self, target_ms):
        if self.error or not self.warm_ms:
            return True
        cold_missed = self.page.cold_target and self.cold_ms >= target_ms
        return statistics.median(self.warm_ms) >= target_ms or cold_missed


class PageFailed(Exception):
    """A page answered with an error status or its query ran out of time."""


def ensure_database():
    """The benchmark database is created on first use (a scratch database: the synthetic set is written there)."""
    import psycopg
    from psycopg import sql

    params = connection.get_connection_params()
    name = params.pop("dbname")
    with psycopg.connect(**{**params, "dbname": "postgres"}, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def limit_statements(seconds):
    """No query runs longer than `seconds` (the landing page once ran for minutes): a page that takes longer is
    reported as timed out, and the run goes on."""

    def apply(connection, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")

    connection_created.connect(apply, weak=False, dispatch_uid="bench-pages-timeout")
    if connection.connection is not None:
        apply(connection)


def timed_get(client, path):
    """(milliseconds, SQL queries) of one GET; PageFailed if it does not answer 200."""
    seen = []

    def record(run, sql, *args):
        seen.append(sql)
        return run(sql, *args)

    started = time.perf_counter()
    try:
        with connection.execute_wrapper(record):
            response = client.get(path)
    except DatabaseError as error:
        raise PageFailed(
            f"database error after {time.perf_counter() - started:.0f} s: {error}".splitlines()[0]
        ) from error
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise PageFailed(f"answered {response.status_code}")
    return elapsed, len(seen)


def measure(page, client, runs):
    """One untimed request (templates, connections), then a cold one after a cache clear, then `runs` warm ones."""
    result = Result(page)
    try:
        timed_get(client, page.path)
        cache.clear()
        result.cold_ms, result.cold_queries = timed_get(client, page.path)
        for _ in range(runs):
            ms, result.warm_queries = timed_get(client, page.path)
            result.warm_ms.append(ms)
    except PageFailed as error:
        result.error = str(error)
    return result


# --- data and users ------------------------------------------------------------------------------------------------


def synthetic_recommendations():
    return Recommendation.objects.filter(meeting__code__startswith=synthetic.PREFIX).count()


def largest_state():
    """The member state with the most followed-up items (ties: the first by name)."""
    counts = Implementation.objects.current().values("member_state", "member_state__name_en").annotate(n=Count("pk"))
    top = counts.order_by("-n", "member_state__name_en").first()
    return MemberState.objects.get(pk=top["member_state"]), top["n"]


def secretariat_officer():
    if not Group.objects.filter(name=SECRETARIAT_GROUP).exists():  # a flushed test database
        ensure_roles(django_apps)
    user, _ = User.objects.get_or_create(username="bench-secretariat", defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=SECRETARIAT_GROUP))
    return user


def focal_point(state, body):
    """A focal point of the state, designated today, who has seen the handover summary (so "/" is the state's
    page)."""
    user, _ = User.objects.get_or_create(username="bench-focal-point")
    user.groups.add(Group.objects.get(name=FOCAL_POINT_GROUP))
    FocalPointDesignation.objects.filter(user=user).exclude(member_state=state).delete()
    FocalPointDesignation.objects.get_or_create(
        user=user,
        member_state=state,
        body=body,
        defaults={"role": "alternate", "summary_seen_at": timezone.now(), "preferred_language": "en"},
    )
    return user


def an_item(state):
    """A reported synthetic item of the state (an item page with a history), else any of its items."""
    items = Implementation.objects.current().filter(member_state=state).order_by("pk")
    return items.filter(recommendation__is_sample=True).exclude(last_reported_at=None).first() or items.first()


def pages(state, item):
    admin_list = "/admin/tracker/implementation/"
    return [
        Page("/ secretariat (per-state overview)", "/", SECRETARIAT),
        Page(f"/ focal point of {state.iso_code}", "/", FOCAL),
        Page("item page", f"/items/{item.pk}/", FOCAL),
        Page("/review/ matrix", "/review/", SECRETARIAT, cold_target=True),
        Page("/review/ table", "/review/?view=table", SECRETARIAT, cold_target=True),
        Page("admin index", "/admin/", SECRETARIAT),
        Page("admin implementations", admin_list, SECRETARIAT),
        Page(
            "admin impl. filtered",
            f"{admin_list}?member_state__id__exact={state.pk}&status__exact=in_progress",
            SECRETARIAT,
        ),
        Page("admin impl. searched", f"{admin_list}?q={state.name_en.split()[0]}", SECRETARIAT),
        Page("public overview", "/public/en/", PUBLIC),
    ]


# --- the command ---------------------------------------------------------------------------------------------------


class Command(BaseCommand):
    help = "Time the main pages at scale, warm and cold, with their SQL query counts (PostgreSQL, synthetic data)."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(synthetic.SIZES), default="large")
        parser.add_argument("--runs", type=int, default=5, help="Warm requests per page.")
        parser.add_argument("--target-ms", type=float, default=TARGET_MS)
        parser.add_argument("--timeout", type=float, default=TIMEOUT_S, help="Seconds a query may run.")
        parser.add_argument("--no-fail", action="store_true", help="Exit 0 even when a page misses its target.")
        parser.add_argument(
            "--only", default="", help="Measure only the pages whose name contains this text (e.g. 'admin')."
        )
        parser.add_argument(
            "--create-database", action="store_true", help="Create the database if it is missing, then migrate it."
        )

    def handle(self, *args, size, runs, target_ms, timeout, no_fail, create_database, only, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench pages needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/name.")
        if create_database:
            ensure_database()
            call_command("migrate", verbosity=0, interactive=False)
        self.ensure_data(size)
        limit_statements(timeout)
        body = Body.objects.get(code="aimc")
        state, state_items = largest_state()
        users = {SECRETARIAT: secretariat_officer(), FOCAL: focal_point(state, body), PUBLIC: None}
        clients = {who: self.client_for(user) for who, user in users.items()}
        total = Implementation.objects.count()
        self.stdout.write(
            f"{total:,} implementations ({state_items:,} followed up in {state.iso_code}); {runs} warm requests "
            "per page. In-process (Django test client): no gunicorn, no network. Cold: the first request after "
            "the Django cache is cleared (PostgreSQL's buffers stay warm)."
        )
        # DEBUG_PROPAGATE_EXCEPTIONS: a failed page raises at once (DEBUG's error page would run its querysets again).
        with override_settings(
            ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, DEBUG_PROPAGATE_EXCEPTIONS=True
        ):
            chosen = [page for page in pages(state, an_item(state)) if only in page.name]
            self.results = self.measure_all(chosen, clients, runs, target_ms)
        missed = [r.page.name for r in self.results if r.misses(target_ms)]
        if missed and not no_fail:
            raise CommandError(f"{len(missed)} page(s) missed the target: {', '.join(missed)}.")

    def ensure_data(self, size):
        """The synthetic set of this size, generated (replacing another size's) when it is not there."""
        if synthetic_recommendations() == synthetic.SIZES[size]:
            return
        self.stdout.write(f"Generating the {size} synthetic set (at the large size: minutes)...")
        call_command(synthetic.Command(), size=size, replace=True, stdout=self.stdout)

    def client_for(self, user):
        client = Client()
        if user is not None:
            client.force_login(user)
        return client

    def measure_all(self, pages, clients, runs, target_ms):
        """Each page measured and its row printed as soon as it is known."""
        self.stdout.write(
            f"{'page':<36} {'cold ms':>8} {'q':>4}  {'warm min/median/max ms':>24} {'q':>4}  {'target':<18} result"
        )
        results = []
        for page in pages:
            results.append(measure(page, clients[page.who], runs))
            self.stdout.write(self.row(results[-1], target_ms))
            self.stdout.flush()
        return results

    def row(self, result, target_ms):
        page = result.page
        target = f"< {target_ms:.0f} ms warm" + (" + cold" if page.cold_target else "")
        verdict = "MISS" if result.misses(target_ms) else "PASS"
        if result.error and not result.warm_ms:
            cold = f"{result.cold_ms:8.0f} {result.cold_queries:>4}" if result.cold_ms else f"{'-':>8} {'-':>4}"
            return f"{page.name:<36} {cold}  {result.error[:60]:<29}  {target:<18} {verdict}"
        warm = result.warm_ms
        spread = f"{min(warm):.0f} / {statistics.median(warm):.0f} / {max(warm):.0f}"
        return (
            f"{page.name:<36} {result.cold_ms:8.0f} {result.cold_queries:>4}  {spread:>24} "
            f"{result.warm_queries:>4}  {target:<18} {verdict}"
        )
