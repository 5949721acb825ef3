"""What each e-mail says: one e-mail per recipient, with one section per reminder row, each item with the
reason it is listed and a direct link. Everything a batch needs is loaded in a handful of queries up front
(`BatchContent`); composing an e-mail runs no query.

`compose_messages` gives the e-mail to the recipient, in their language, with the copied people who read that
language on Cc, then one copy per other language read among the copied people, To: them, saying whose reminder
it is and why they receive it. Every e-mail carries a Message-ID of the sender's domain, one-click unsubscribe
headers (RFC 2369, RFC 8058) and, in its footer, the same signed link to the preferences page
(tracker/core/reminder_preferences.py says what it allows). Arabic plain text marks each line right to left.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from email.header import Header
from email.utils import make_msgid, parseaddr
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.core.signals import setting_changed
from django.db.models import F
from django.dispatch import receiver
from django.template import engines
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone
from django.utils.translation import ngettext

from tracker.core.language import active as active_language
from tracker.core.language import gettext as _
from tracker.core.language import is_right_to_left, speaking
from tracker.core.models import Commitment, Implementation, ProgressReport, localized
from tracker.core.querysets import StalledContext, StalledReason, stalled_reasons_of
from tracker.core.related import with_related
from tracker.core.reminder_preferences import Link, Recipient
from tracker.reminders.models import Reminder
from tracker.reminders.policy import SECRETARIAT_LANGUAGE, mailbox_language, user_language

Kind = Reminder.Kind
COMMITMENT_KINDS = {Kind.COMMITMENT_DUE, Kind.COMMITMENT_LATE}
VALIDATION_KINDS = {Kind.VALIDATION_DUE, Kind.VALIDATION_OVERDUE}
# The most urgent section decides the subject and comes first.
URGENCY = [
    Kind.DELIVERY_FAILED,
    Kind.OVERDUE,
    Kind.VALIDATION_OVERDUE,
    Kind.COMMITMENT_LATE,
    Kind.BEFORE_DEADLINE,
    Kind.VALIDATION_DUE,
    Kind.COMMITMENT_DUE,
    Kind.SECRETARIAT_DIGEST,
    Kind.STALLED_DIGEST,
]
TEXT_LIMIT = 180
FAILURES_LISTED_MAX = 200  # a notice lists this many; the admin link shows them all
EMAILS = engines["emails"]  # Jinja2 (tracker/reminders/jinja2_env.py): templates/reminders/
# Mail clients give a plain-text line the direction of its first strong character: "R2: ..." or a URL would
# read left to right in an Arabic e-mail. A RIGHT-TO-LEFT MARK first makes every line right to left.
RLM = "\u200f"


def item_url(implementation_id):
    return f"{settings.SITE_URL}/items/{implementation_id}/"


def home_url():
    """The focal point's "my state" page, where they see and mark done their state's commitments."""
    return f"{settings.SITE_URL}{reverse('home')}"


def validation_queue_url():
    """The national validator's queue (tracker.focal): every report waiting for them, to approve or return."""
    try:
        return f"{settings.SITE_URL}{reverse('validation_queue')}"
    except NoReverseMatch:  # the focal room does not serve the queue: the home page is the nearest place
        return home_url()


def admin_failed_reminders_url(body_id):
    """The reminder log in the admin, narrowed to this body's failed reminders, where they can be resent."""
    path = f"{reverse('admin:reminders_reminder_changelist')}?state__exact=failed&body__id__exact={body_id}"
    return f"{settings.SITE_URL}{path}"


def admin_commitment_url(commitment_id):
    """The secretariat's list of commitments in the admin, narrowed to this one."""
    try:
        path = f"{reverse('admin:tracker_commitment_changelist')}?id__exact={commitment_id}"
    except NoReverseMatch:  # the admin does not list commitments (yet): its index is the nearest place
        path = reverse("admin:index")
    return f"{settings.SITE_URL}{path}"


def organisation_name(organisation):
    return localized(organisation, "name")


def preferences_url(token, prefix=None):
    """The page of an e-mail's signed link (tracker.focal), where one-click unsubscribe posts too. `prefix`: the
    URL up to the token (`preferences_prefix()`), worked out once a batch rather than once an e-mail."""
    return f"{prefix or preferences_prefix()}{token}/"


def preferences_prefix():
    return f"{settings.SITE_URL}{_preferences_path(get_urlconf(), get_script_prefix())}"


# Worked out once, not for each of 10,000 e-mails (reverse() and date formatting take tens of microseconds each).
# Emptied whenever a setting changes (tests), as Django empties its own URL and format caches.


@lru_cache(maxsize=8)
def _preferences_path(urlconf, script_prefix):
    """The path of the link page up to its token: a token is URL-safe (base64 and ":"), reverse() leaves it as is."""
    path = reverse("reminder_link", kwargs={"token": "TOKEN"}, urlconf=urlconf)
    return path.removesuffix("TOKEN/")


def date_text(value, format_name="DATE_FORMAT"):
    """`formats.date_format` in the active language: a batch names the same few dates in every e-mail."""
    return _date_text(value, format_name, active_language())


@lru_cache(maxsize=1024)
def _date_text(value, format_name, language):  # `language` is active: it is the key, not an argument
    return formats.date_format(value, format_name)


@receiver(setting_changed, dispatch_uid="reminders-compose-caches")
def _forget_cached_text(**kwargs):
    _preferences_path.cache_clear()
    _date_text.cache_clear()


@lru_cache(maxsize=8)
def _domain(from_email, site_url):
    return parseaddr(from_email)[1].rpartition("@")[2] or urlsplit(site_url).hostname or "localhost"


def sender_domain():
    """The domain of DEFAULT_FROM_EMAIL (else SITE_URL's host) names each Message-ID, not this machine's host name:
    receiving servers and spam filters expect the sender's domain (production refuses one without a dot)."""
    return _domain(settings.DEFAULT_FROM_EMAIL, settings.SITE_URL)


def _joined(names):
    return ("، " if active_language() == "ar" else ", ").join(names)


def right_to_left(text):
    return "\n".join(RLM + line if line.strip() else line for line in text.split("\n"))


def short(text):
    text = " ".join(text.split())
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1].rstrip() + "…"


@dataclass
class Line:
    reference: str
    text: str
    reasons: list
    url: str

    @property
    def why(self):
        return ("؛ " if active_language() == "ar" else "; ").join(self.reasons)


@dataclass
class Group:
    heading: str
    lines: list = field(default_factory=list)


@dataclass
class Section:
    kind: str
    title: str
    intro: list
    groups: list
    note: str = ""
    facts: list = field(default_factory=list)  # [(label, value)]: one commitment, told field by field
    link: str = ""  # where to act on it, with its label
    link_label: str = ""


class Audience:
    """Whom an e-mail addresses, for its greeting and its footer."""

    FOCAL_POINT = "focal_point"
    VALIDATOR = "validator"
    SECRETARIAT = "secretariat"
    PARTNER = "partner"
    OTHER = "other"


@dataclass(frozen=True)
class Reader:
    """A copied address: who reads it (for the copy's greeting and reason) and in which language."""

    address: str
    language: str
    audience: str
    user: object = None


@dataclass
class Awaiting:
    """An item whose report awaits national validation, with that report (who sent it and when)."""

    item: Implementation
    report: ProgressReport | None


class BatchContent:
    """The items behind a batch of reminder rows, loaded once: missing reports, drafts, reports awaiting
    national validation, stalled items."""

    def __init__(self, rows, plan):
        self.plan = plan
        held = Reminder._meta.get_field("member_state").is_cached  # shared with the items, never read row by row
        self.states = {row.member_state_id: row.member_state for row in rows if row.member_state_id and held(row)}
        cycle_ids = {row.cycle_id for row in rows if row.cycle_id}
        self.missing = defaultdict(list)  # (cycle id, state id) -> [Implementation]
        self.awaiting = defaultdict(list)  # (cycle id, state id) -> [Awaiting]
        self.stalled = defaultdict(list)  # (body id, state id) -> [Implementation]
        self.drafted = set()
        cycles = {row.cycle_id: row.cycle for row in rows if row.cycle_id}
        missing_states, awaiting_states = self._states_of_cycles(rows)
        for cycle_id, states in missing_states.items():
            self._load_missing(cycles[cycle_id], states)
        for cycle_id, states in awaiting_states.items():
            self._load_awaiting(cycles[cycle_id], states)
        if cycle_ids:
            drafts = ProgressReport.objects.drafts().filter(cycle_id__in=cycle_ids)
            self.drafted = set(drafts.values_list("cycle_id", "implementation_id"))
        stalled_states = {row.member_state_id for row in rows if row.kind == Kind.STALLED_DIGEST}
        if stalled_states:
            self._load_stalled(stalled_states)
        self.commitments = {}  # id -> Commitment, open ones only
        commitment_ids = {row.commitment_id for row in rows if row.commitment_id}
        if commitment_ids:
            self._load_commitments(commitment_ids)
        self.failures = defaultdict(list)  # body id -> [Reminder] failed for good lately
        if any(row.kind == Kind.DELIVERY_FAILED for row in rows):
            self._load_failures()
        self.users_by_address = {}  # lower-case address -> active user, for the copied addresses
        self._load_copied_users(rows)
        # Once a batch, not twice an e-mail: with DEBUG, Jinja2 looks at the file for changes at each look-up.
        self.preferences_prefix = preferences_prefix()
        self.templates = {name: EMAILS.get_template(f"reminder.{name}").template for name in ("txt", "html")}

    @staticmethod
    def _states_of_cycles(rows):
        """{cycle id: state ids} whose missing reports, and whose reports awaiting validation, the rows list
        (None: every state, for the secretariat's digest, which lists both)."""
        missing, awaiting = defaultdict(set), defaultdict(set)
        for row in rows:
            if not row.cycle_id:
                continue
            if row.kind == Kind.SECRETARIAT_DIGEST:
                missing[row.cycle_id].add(None)
                awaiting[row.cycle_id].add(None)
            elif row.kind in VALIDATION_KINDS:
                awaiting[row.cycle_id].add(row.member_state_id)
            else:
                missing[row.cycle_id].add(row.member_state_id)
        return missing, awaiting

    def _shared(self, items):
        """The items, each recommendation (listed for every state) loaded once and shared, and each state too: the
        batch's rows already hold theirs."""
        return with_related(items, "recommendation", "member_state", known={"member_state": self.states})

    @staticmethod
    def _items():
        """Only the columns an e-mail reads. Iterated through `_shared`: a recommendation (listed for every state)
        and a state (for each of its items) are each loaded once and shared, not built again for every item as
        select_related would."""
        items = Implementation.objects.current().annotate(body_id=F("recommendation__meeting__body_id"))
        items = items.only("pk", "recommendation_id", "member_state_id", "awaiting_validation_since")
        return items.order_by("member_state__name_en", "recommendation__meeting_id", "recommendation__position", "pk")

    def _load_missing(self, cycle, states):
        """As policy.missing_by_state: a report awaiting validation is not missing (its validator is reminded)."""
        items = self._items().unsettled().filter(recommendation__meeting__body_id=cycle.body_id)
        items = items.filter(awaiting_validation_since__isnull=True).exclude(last_report_cycle=cycle.pk)
        if None not in states:
            items = items.filter(member_state_id__in=states)
        for item in self._shared(items):
            self.missing[(cycle.pk, item.member_state_id)].append(item)

    def _load_awaiting(self, cycle, states):
        """As policy.awaiting_validation_by_state, each item with its awaiting report: two queries."""
        items = self._items().filter(
            recommendation__meeting__body_id=cycle.body_id, awaiting_validation_since__isnull=False
        )
        items = items.exclude(last_report_cycle=cycle.pk)
        if None not in states:
            items = items.filter(member_state_id__in=states)
        reports = ProgressReport.objects.filter(
            implementation__in=items.order_by().values("pk"),
            state=ProgressReport.State.AWAITING_VALIDATION,
            is_archived=False,
        ).select_related("sent_for_validation_by")
        sent = {report.implementation_id: report for report in reports.order_by("sent_for_validation_at", "pk")}
        for item in self._shared(items):
            self.awaiting[(cycle.pk, item.member_state_id)].append(Awaiting(item, sent.get(item.pk)))

    def _load_stalled(self, states):
        context = StalledContext.load()
        items = self._items().stalled(context=context).with_stalled_reasons(context).filter(member_state_id__in=states)
        for item in self._shared(items):
            self.stalled[(item.body_id, item.member_state_id)].append(item)

    def _load_commitments(self, ids):
        items = Commitment.objects.filter(pk__in=ids, state=Commitment.State.OPEN).select_related(
            "implementation__recommendation", "implementation__member_state", "organisation"
        )
        self.commitments = {commitment.pk: commitment for commitment in items}

    def _load_failures(self):
        from tracker.reminders.policy import FAILURE_LOOKBACK  # the planner's window, so plan and e-mail agree

        failed = Reminder.objects.filter(state=Reminder.State.FAILED, failed_at__gte=timezone.now() - FAILURE_LOOKBACK)
        failed = failed.exclude(kind=Kind.DELIVERY_FAILED).select_related("recipient", "member_state")
        for reminder in failed.order_by("failed_at", "pk")[:FAILURES_LISTED_MAX]:
            self.failures[reminder.body_id].append(reminder)

    def _load_copied_users(self, rows):
        """The accounts behind every address the batch copies (their language, their name): one query."""
        addresses = set()
        for row in rows:
            planned = self.plan.planned(row)
            addresses.update(planned.cc if planned else row.cc)
        if not addresses:
            return
        users = get_user_model().objects.filter(email__in=addresses, is_active=True).select_related("tracker_profile")
        for user in users.order_by("pk"):
            self.users_by_address.setdefault(user.email.lower(), user)

    def readers(self, row, cc):
        """{language: [Reader]} of the addresses copied on `row`'s e-mail, in the order given."""
        by_language = defaultdict(list)
        for address in cc:
            reader = self._reader(row, address)
            by_language[reader.language].append(reader)
        return by_language

    def _reader(self, row, address):
        """A focal point of the row's state reads their designation's language; the body's mailbox its own (the
        first officer's, policy.mailbox_language); a secretariat officer or another account its profile's; a
        partner organisation its `language`; anyone else the secretariat's default."""
        key = address.lower()
        designations = self.plan.designations
        for designation in designations.of(row.body_id, row.member_state_id):
            if designation.user.email.lower() == key:
                return Reader(address, designation.preferred_language, Audience.FOCAL_POINT, designation.user)
        for designation in designations.validators(row.body_id, row.member_state_id):
            if designation.user.email.lower() == key:
                return Reader(address, designation.preferred_language, Audience.VALIDATOR, designation.user)
        user = self.users_by_address.get(key)
        body = self.plan.bodies.get(row.body_id)
        if body is not None and body.secretariat_email.lower() == key:
            language = user_language(user) if user else mailbox_language(self.plan.staff)
            return Reader(address, language, Audience.SECRETARIAT, user)
        if user is not None:
            staff = any(officer.pk == user.pk for officer in self.plan.staff)
            return Reader(address, user_language(user), Audience.SECRETARIAT if staff else Audience.OTHER, user)
        for commitment in self.commitments.values():
            organisation = commitment.organisation
            if organisation is not None and organisation.email.lower() == key:
                return Reader(address, organisation.language, Audience.PARTNER)
        return Reader(address, SECRETARIAT_LANGUAGE, Audience.OTHER)

    def is_empty_for(self, row):
        """A row whose items all went away (reported, settled) is no longer worth an e-mail."""
        if row.kind in COMMITMENT_KINDS:
            # Done or dropped since the plan, or its due date moved (the stage names the date it was for).
            commitment = self.commitments.get(row.commitment_id)
            return commitment is None or not row.stage.endswith(f"-{commitment.due_date:%Y%m%d}")
        if row.kind == Kind.STALLED_DIGEST:
            return not self.stalled.get((row.body_id, row.member_state_id))
        if row.kind == Kind.DELIVERY_FAILED:
            return not self.failures.get(row.body_id)
        if row.kind == Kind.SECRETARIAT_DIGEST:
            listed = [*self.missing, *self.awaiting]
            return not any(cycle_id == row.cycle_id for cycle_id, _ in listed)
        if row.kind in VALIDATION_KINDS:  # approved or returned since: nothing waits for the validator
            return not self.awaiting.get((row.cycle_id, row.member_state_id))
        return not self.missing.get((row.cycle_id, row.member_state_id))

    # --- sections, composed in the recipient's language (called inside language.speaking) ---

    def _missing_line(self, cycle_id, item):
        reasons = [_("No progress report submitted in this cycle")]
        if (cycle_id, item.pk) in self.drafted:
            reasons.append(_("A draft is saved but has not been submitted"))
        return Line(item.recommendation.reference, short(item.recommendation.text), reasons, item_url(item.pk))

    def section(self, row):
        return {
            Kind.BEFORE_DEADLINE: self._before,
            Kind.OVERDUE: self._overdue,
            Kind.VALIDATION_DUE: self._validation,
            Kind.VALIDATION_OVERDUE: self._validation,
            Kind.STALLED_DIGEST: self._stalled,
            Kind.SECRETARIAT_DIGEST: self._secretariat,
            Kind.COMMITMENT_DUE: self._commitment,
            Kind.COMMITMENT_LATE: self._commitment,
            Kind.DELIVERY_FAILED: self._failures,
        }[row.kind](row)

    def _cycle_facts(self, row):
        return {
            "cycle": row.cycle.name,
            "deadline": date_text(row.cycle.report_deadline),
            "state": row.member_state.name,
        }

    def _before(self, row):
        facts = self._cycle_facts(row)
        lines = [self._missing_line(row.cycle_id, i) for i in self.missing[(row.cycle_id, row.member_state_id)]]
        return Section(
            row.kind,
            _("Progress reports due by %(deadline)s") % facts,
            [
                _("The report deadline of %(cycle)s is %(deadline)s.") % facts,
                _("These items of %(state)s have no submitted progress report in this cycle yet:") % facts,
            ],
            [Group("", lines)],
            _("A saved draft does not count: open each item and submit its report."),
        )

    def _overdue(self, row):
        facts = self._cycle_facts(row)
        lines = [self._missing_line(row.cycle_id, i) for i in self.missing[(row.cycle_id, row.member_state_id)]]
        note = ""
        if row.cc:
            note = _("Copied to the alternate focal point and the secretariat: the reports are overdue.")
        return Section(
            row.kind,
            _("Overdue progress reports: the deadline was %(deadline)s") % facts,
            [
                _("The report deadline of %(cycle)s was %(deadline)s.") % facts,
                _("These items of %(state)s still have no submitted progress report:") % facts,
            ],
            [Group("", lines)],
            note,
        )

    # --- national validation ---

    def _awaiting_line(self, awaiting):
        item, report = awaiting.item, awaiting.report
        sent_at = report.sent_for_validation_at if report else item.awaiting_validation_since
        facts = {"date": date_text(timezone.localtime(sent_at).date())}
        if report and report.sent_for_validation_by_id:
            reason = _("Sent for validation by %(name)s on %(date)s") % {
                **facts,
                "name": _name(report.sent_for_validation_by),
            }
        else:
            reason = _("Sent for validation on %(date)s") % facts
        return Line(item.recommendation.reference, short(item.recommendation.text), [reason], item_url(item.pk))

    def _validation(self, row):
        facts = self._cycle_facts(row)
        lines = [self._awaiting_line(entry) for entry in self.awaiting[(row.cycle_id, row.member_state_id)]]
        overdue = row.kind == Kind.VALIDATION_OVERDUE
        if overdue:
            deadline = _("The report deadline of %(cycle)s was %(deadline)s.") % facts
        else:
            deadline = _("The report deadline of %(cycle)s is %(deadline)s.") % facts
        if self.audience(row) != Audience.VALIDATOR:
            return self._without_validator(row, facts, deadline, lines)
        if overdue:
            title = _("Reports awaiting your validation: the deadline was %(deadline)s") % facts
        else:
            title = _("Reports awaiting your validation: the deadline is %(deadline)s") % facts
        note = _(
            "Approve each report, or return it to the focal points with a comment: only an approved report counts."
        )
        if overdue and row.cc:
            note = _(
                "Copied to the focal point and the secretariat: the reports still await validation after the deadline."
            )
        return Section(
            row.kind,
            title,
            [deadline, _("The focal points of %(state)s sent these reports for your validation:") % facts],
            [Group("", lines)],
            note,
            link=validation_queue_url(),
            link_label=_("Open the reports awaiting your validation"),
        )

    def _without_validator(self, row, facts, deadline, lines):
        """The state has no active validator: its focal point (the secretariat copied), or else the secretariat,
        learns that these reports wait for nobody."""
        if self.audience(row) == Audience.FOCAL_POINT:
            note = _(
                "Until a national validator approves them, they do not reach the secretariat and do not count for "
                "the cycle: ask the secretariat to register your state's national validator."
            )
        else:
            note = (
                _(
                    "%(state)s has no active focal point either: register its national validator so that these "
                    "reports can count for the cycle."
                )
                % facts
            )
        return Section(
            row.kind,
            _("Reports of %(state)s awaiting national validation: no validator is designated") % facts,
            [
                deadline,
                _(
                    "These reports of %(state)s were sent for national validation, but %(state)s has no active "
                    "national validator to approve them:"
                )
                % facts,
            ],
            [Group("", lines)],
            note,
        )

    def _stalled(self, row):
        items = self.stalled[(row.body_id, row.member_state_id)]
        lines = [
            Line(
                i.recommendation.reference,
                short(i.recommendation.text),
                [str(StalledReason(r).label) for r in stalled_reasons_of(i)],
                item_url(i.pk),
            )
            for i in items
        ]
        return Section(
            row.kind,
            _("Stalled items of %(state)s") % {"state": row.member_state.name},
            [_("These items of %(state)s are stalled. Each line says why:") % {"state": row.member_state.name}],
            [Group("", lines)],
            _("Submitting a progress report, or recording a solution to an obstacle, clears an item."),
        )

    def _secretariat(self, row):
        cycle = row.cycle
        facts = {"cycle": cycle.name, "deadline": date_text(cycle.report_deadline)}
        groups = []
        for (cycle_id, _state_id), items in self.missing.items():
            if cycle_id != cycle.pk:
                continue
            heading = _("%(state)s — items without a report: %(count)s") % {
                "state": items[0].member_state.name,
                "count": len(items),
            }
            groups.append(Group(heading, [self._missing_line(cycle.pk, i) for i in items]))
        groups += self._awaiting_groups(cycle.pk)
        groups.sort(key=lambda g: g.heading)
        without = self._states_without_focal_point(row)
        intro = [_("Progress reports still missing in %(cycle)s (deadline %(deadline)s), state by state:") % facts]
        notes = []
        if without:
            notes.append(_("Member states without an active focal point: %(states)s.") % {"states": _joined(without)})
        unvalidated = self._awaiting_without_validator(row.body_id, cycle.pk)
        if unvalidated:
            notes.append(
                _("Reports await national validation in member states without an active validator: %(states)s.")
                % {"states": _joined(unvalidated)}
            )
        note = " ".join(notes)
        title = _("%(body)s: progress reports missing in %(cycle)s") % {"body": row.body, "cycle": cycle.name}
        return Section(row.kind, title, intro, groups, note)

    def _awaiting_groups(self, cycle_id):
        """For the secretariat: per state, the reports its national validator has yet to approve (not missing)."""
        groups = []
        for (awaiting_cycle_id, _state_id), entries in self.awaiting.items():
            if awaiting_cycle_id != cycle_id or not entries:
                continue
            heading = _("%(state)s — reports awaiting national validation: %(count)s") % {
                "state": entries[0].item.member_state.name,
                "count": len(entries),
            }
            groups.append(Group(heading, [self._awaiting_line(entry) for entry in entries]))
        return groups

    def _awaiting_without_validator(self, body_id, cycle_id):
        designations = self.plan.designations
        return sorted(
            str(entries[0].item.member_state)
            for (awaiting_cycle_id, state_id), entries in self.awaiting.items()
            if awaiting_cycle_id == cycle_id and entries and not designations.validators(body_id, state_id)
        )

    def _failures(self, row):
        lines = [self._failure_line(reminder) for reminder in self.failures[row.body_id]]
        return Section(
            row.kind,
            _("Reminders that could not be delivered"),
            [_("These reminders could not be delivered, despite retries where the error was temporary:")],
            [Group("", lines)],
            _("Check each address and the mail server, then resend them from the reminder log."),
            link=admin_failed_reminders_url(row.body_id),
            link_label=_("Open the failed reminders"),
        )

    def _failure_line(self, reminder):
        whom = str(reminder.addressee)
        about = reminder.get_kind_display() + (f" · {reminder.member_state.name}" if reminder.member_state_id else "")
        return Line(whom, about, [short(reminder.last_error) or _("No error was recorded")], "")

    def _states_without_focal_point(self, row):
        body = self.plan.bodies.get(row.body_id)
        if body is None:
            return []
        designated = {state for (body_id, state) in self.plan.designations.by_pair if body_id == row.body_id}
        states = self.plan.member_states.get(row.body_id, [])
        return sorted(str(s) for s in states if s.pk not in designated)

    # --- commitments ---

    def audience(self, row):
        """Who reads a row: the state's focal point or validator, the partner organisation, or else the secretariat."""
        if row.kind in VALIDATION_KINDS:
            return self._validation_audience(row)
        if row.kind not in COMMITMENT_KINDS:
            secretariat = row.kind in (Kind.SECRETARIAT_DIGEST, Kind.DELIVERY_FAILED)
            return Audience.SECRETARIAT if secretariat else Audience.FOCAL_POINT
        commitment = self.commitments[row.commitment_id]
        if row.recipient_email and commitment.owner == Commitment.Owner.PARTNER:
            if row.recipient_email == commitment.organisation.email:
                return Audience.PARTNER
        if row.recipient_id and commitment.owner == Commitment.Owner.STATE:
            designated = self.plan.designations.of(row.body_id, row.member_state_id)
            if any(d.user_id == row.recipient_id for d in designated):
                return Audience.FOCAL_POINT
        return Audience.SECRETARIAT

    def _validation_audience(self, row):
        """The state's validator; without one, its focal point or the secretariat (policy._validation_recipients)."""
        designations = self.plan.designations
        if any(d.user_id == row.recipient_id for d in designations.validators(row.body_id, row.member_state_id)):
            return Audience.VALIDATOR
        if any(d.user_id == row.recipient_id for d in designations.of(row.body_id, row.member_state_id)):
            return Audience.FOCAL_POINT
        return Audience.SECRETARIAT

    def commitment_facts(self, commitment):
        item = commitment.implementation
        return {
            "due": date_text(commitment.due_date),
            "state": item.member_state.name,
            "reference": item.recommendation.reference,
            "organisation": organisation_name(commitment.organisation) if commitment.organisation_id else "",
        }

    def _commitment(self, row):
        commitment = self.commitments[row.commitment_id]
        item = commitment.implementation
        facts = self.commitment_facts(commitment)
        days = (commitment.due_date - timezone.localdate()).days
        late = row.kind == Kind.COMMITMENT_LATE
        if late:
            title = _("Late commitment: it was due by %(due)s") % facts
            when = ngettext("Late by %(days)s day", "Late by %(days)s days", -days) % {"days": -days}
        else:
            title = _("Commitment due by %(due)s") % facts
            when = (
                ngettext("Due in %(days)s day", "Due in %(days)s days", days) % {"days": days}
                if days > 0
                else _("Due today")
            )
        who = facts["organisation"] or commitment.get_owner_display()
        audience = self.audience(row)
        section = Section(
            row.kind,
            title,
            [_("The review agreed on this commitment about %(state)s. It is still open:") % facts],
            [],
            self._commitment_note(row, commitment, audience, late, facts),
            facts=[
                (_("Recommendation:"), f"{item.recommendation.reference} — {short(item.recommendation.text)}"),
                (_("Member state:"), facts["state"]),
                (_("To be done:"), commitment.description.strip()),
                (_("Who follows up:"), str(who)),
                (_("Due by:"), f"{facts['due']} ({when})"),
            ],
        )
        if audience == Audience.FOCAL_POINT:
            section.link, section.link_label = home_url(), _("Mark it done on your state's page")
        elif audience == Audience.SECRETARIAT:
            section.link, section.link_label = admin_commitment_url(commitment.pk), _("Open it in the administration")
        return section

    def _commitment_note(self, row, commitment, audience, late, facts):
        Owner = Commitment.Owner
        if audience == Audience.PARTNER:
            return _("When it is done, please tell the secretariat, which records it as done.")
        if audience == Audience.FOCAL_POINT:
            if late and row.cc:
                return _("Copied to the alternate focal point and the secretariat: the commitment is late.")
            return _("Once it is done, mark it done with a note (and evidence, if any): the secretariat confirms it.")
        if commitment.owner == Owner.STATE:
            return _("%(state)s has no active focal point to remind: the secretariat receives this reminder.") % facts
        if commitment.owner == Owner.PARTNER:
            return _("%(organisation)s has no contact e-mail address: the secretariat receives this reminder.") % facts
        return ""


def _commitment_subject(rows, content):
    row = rows[0]
    facts = content.commitment_facts(content.commitments[row.commitment_id])
    if row.kind == Kind.COMMITMENT_LATE:
        return _("Late commitment for %(state)s: it was due by %(due)s") % facts
    return _("Reminder: commitment for %(state)s due by %(due)s") % facts


def _validation_subject(rows, content):
    row = rows[0]
    facts = {
        "cycle": row.cycle.name,
        "deadline": date_text(row.cycle.report_deadline),
        "state": row.member_state.name,
    }
    if content.audience(row) != Audience.VALIDATOR:
        return _("Reports of %(state)s awaiting national validation: no validator is designated") % facts
    if row.kind == Kind.VALIDATION_OVERDUE:
        return _("Overdue: reports awaiting your validation for %(cycle)s") % facts
    return _("Reminder: reports awaiting your validation by %(deadline)s") % facts


def _bodies(rows):
    """The bodies of the rows of the first row's kind: a digest names them all (one e-mail may hold several)."""
    return _joined(sorted({str(row.body) for row in rows if row.kind == rows[0].kind}))


def _period_start(scope, parse):
    """The first day of a digest's period from its scope ("2026-W49", "2026-12"); today if it is not one."""
    try:
        return parse(scope)
    except ValueError:
        return timezone.localdate()


def _weekly_subject(rows, content):
    monday = _period_start(rows[0].scope, lambda scope: dt.date.fromisocalendar(int(scope[:4]), int(scope[6:]), 1))
    return _("Weekly digest of %(bodies)s, week of %(week)s: missing progress reports") % {
        "bodies": _bodies(rows),
        "week": date_text(monday),
    }


def _monthly_subject(rows, content):
    first = _period_start(rows[0].scope, lambda scope: dt.date(int(scope[:4]), int(scope[5:7]), 1))
    return _("Monthly digest of %(bodies)s, %(month)s: stalled items of %(state)s") % {
        "bodies": _bodies(rows),
        "month": date_text(first, "YEAR_MONTH_FORMAT"),
        "state": rows[0].member_state.name,
    }


# Each takes the e-mail's rows, the most urgent first; the digests name their bodies and period, so two digests
# (two weeks, two months, two bodies) never share a subject and mail clients never thread them together.
SUBJECTS = {
    Kind.BEFORE_DEADLINE: lambda rows, content: (
        _("Reminder: progress reports due by %(deadline)s") % {"deadline": date_text(rows[0].cycle.report_deadline)}
    ),
    Kind.OVERDUE: lambda rows, content: _("Overdue: progress reports for %(cycle)s") % {"cycle": rows[0].cycle.name},
    Kind.VALIDATION_DUE: _validation_subject,
    Kind.VALIDATION_OVERDUE: _validation_subject,
    Kind.STALLED_DIGEST: _monthly_subject,
    Kind.SECRETARIAT_DIGEST: _weekly_subject,
    Kind.COMMITMENT_DUE: _commitment_subject,
    Kind.COMMITMENT_LATE: _commitment_subject,
    Kind.DELIVERY_FAILED: lambda rows, content: (
        _("Reminders not delivered for %(body)s: %(count)s")
        % {"body": rows[0].body, "count": len(content.failures[rows[0].body_id])}
    ),
}


def _footer(audience, row, content):
    if audience == Audience.SECRETARIAT:
        return _("You receive this e-mail as a member of the secretariat.")
    if audience == Audience.VALIDATOR:
        return _("You receive this e-mail as a designated national validator.")
    if audience == Audience.PARTNER:
        organisation = content.commitments[row.commitment_id].organisation
        return _("You receive this e-mail as the contact of %(organisation)s for the review's commitments.") % {
            "organisation": organisation_name(organisation)
        }
    return _("You receive this e-mail as a designated national focal point.")


def _name(user):
    return user.get_full_name() or user.username


def _greeting(row, audience, content):
    if row.recipient_id:
        return _("Dear %(name)s,") % {"name": _name(row.recipient)}
    if audience == Audience.PARTNER:
        organisation = content.commitments[row.commitment_id].organisation
        return _("Dear colleagues of %(organisation)s,") % {"organisation": organisation_name(organisation)}
    return _("Dear colleagues,")


# --- copies ---


def _copy_greeting(readers):
    if len(readers) == 1 and readers[0].user is not None:
        return _("Dear %(name)s,") % {"name": _name(readers[0].user)}
    return _("Dear colleagues,")


def _recipient_label(row, audience, content):
    """Whom the reminder was sent to, as a copy names them: "Ahmed (fp-egypt@example.org)"."""
    if row.recipient_id:
        name = _name(row.recipient)
    elif audience == Audience.PARTNER:
        name = organisation_name(content.commitments[row.commitment_id].organisation)
    else:
        return row.address
    return f"{name} ({row.address})"


def _copy_reason(row, readers):
    audiences = {reader.audience for reader in readers}
    if row.kind in VALIDATION_KINDS:
        return _validation_copy_reason(row, audiences)
    if audiences == {Audience.FOCAL_POINT}:
        return _("You receive it as an alternate focal point of %(state)s.") % {"state": row.member_state.name}
    if audiences == {Audience.SECRETARIAT}:
        return _(
            "You receive it as the secretariat, which follows up the reminders that are late or concern a partner."
        )
    if audiences == {Audience.FOCAL_POINT, Audience.SECRETARIAT}:
        return _("You receive it as an alternate focal point or as the secretariat.")
    return _("You receive it because the reminder is copied to you.")


def _validation_copy_reason(row, audiences):
    """Why a copy of a validation reminder reaches its readers: on escalation, or when no validator is designated."""
    state = {"state": row.member_state.name}
    if audiences == {Audience.FOCAL_POINT}:
        return _("You receive it as a focal point of %(state)s: the reports it sent still await validation.") % state
    if audiences == {Audience.SECRETARIAT}:
        return _("You receive it as the secretariat, which follows up the reports awaiting national validation.")
    if audiences == {Audience.FOCAL_POINT, Audience.SECRETARIAT}:
        return _("You receive it as a focal point of %(state)s or as the secretariat.") % state
    if audiences == {Audience.VALIDATOR}:
        return _("You receive it as a national validator of %(state)s.") % state
    return _("You receive it because the reminder is copied to you.")


# --- the e-mails ---


class ReminderEmail(EmailMultiAlternatives):
    """A reminder e-mail whose subject decodes exactly as it was written, whatever its length and script.

    Django encodes a non-ASCII subject as RFC 2047 words sized without counting "Subject: ", so the first word no
    longer fits on the header's first line: the folded header starts with a line break, which clients decode as a
    leading space. A `Header` that knows its name sizes the first word to fit after it, and the words that follow
    are joined without a space when decoded.
    """

    def message(self):
        message = super().message()
        if not self.subject.isascii():
            message.replace_header("Subject", Header(self.subject, "utf-8", header_name="Subject"))
        return message


def _one_line(text):
    """A subject on one line: a line break in a name typed in the admin must not break the header."""
    return " ".join(str(text).split())


@dataclass
class Framing:
    """What differs between the recipient's e-mail and a copy: all but the sections."""

    subject: str
    greeting: str
    preamble: list
    footer: str
    link: Link


def _to_the_recipient(rows, content, language, shared):
    row, audience = rows[0], content.audience(rows[0])
    # Read by the copied people too (`shared`), its link changes nothing: nobody turns off another's reminders.
    recipient = Recipient.of(row.recipient_id, row.recipient_email)
    return Framing(
        SUBJECTS[row.kind](rows, content),
        _greeting(row, audience, content),
        [],
        _footer(audience, row, content),
        Link(recipient, tuple(dict.fromkeys(r.kind for r in rows)), language, shared=shared),
    )


def _a_copy(rows, content, language, readers):
    row = rows[0]
    whom = _recipient_label(row, content.audience(row), content)
    # Why they are copied: the first row that copies anyone (the most urgent one may copy nobody).
    reason = _copy_reason(next((r for r in rows if r.cc), row), readers)
    return Framing(
        _("Copy: %(subject)s") % {"subject": SUBJECTS[row.kind](rows, content)},
        _copy_greeting(readers),
        [_("This is a copy of the reminder sent to %(recipient)s.") % {"recipient": whom}, reason],
        reason,
        Link(None, tuple(dict.fromkeys(r.kind for r in rows)), language, shared=True),
    )


def _render(rows, content, language, framing):
    """The text and HTML parts, in the active language."""
    url, right_to_left_script = preferences_url(framing.link.token(), content.preferences_prefix), is_right_to_left()
    context = {
        "greeting": framing.greeting,
        "preamble": framing.preamble,
        "sections": [content.section(row) for row in rows],
        "language": language,
        "direction": "rtl" if right_to_left_script else "ltr",
        "site_url": settings.SITE_URL,
        "subject": framing.subject,
        "footer": framing.footer,
        "preferences_url": url,
        "preferences_label": _("Choose which reminders you receive"),
        "tracker_name": _("Workshop Recommendation Tracker"),
        # Worked out once here rather than in the templates' loops (10,000 e-mails a run).
        "why_label": _("Why:"),
        "start": "right" if right_to_left_script else "left",
        "end": "left" if right_to_left_script else "right",
    }
    text = _rendered(content.templates["txt"], context)
    if right_to_left_script:
        text = right_to_left(text)
    return text, _rendered(content.templates["html"], context), url


def _rendered(template, context):
    """Jinja's `Template.render`, without merging its globals into a copy of `context` for each of a run's 20,000
    renders (the templates use none: an unknown name is an error): a fifth of the render's time, measured."""
    try:
        return "".join(template.root_render_func(template.new_context(context, shared=True)))
    except Exception:
        template.environment.handle_exception()  # as `render` does: the traceback names the template's lines


def _email(rows, content, language, to, cc=(), readers=None):
    """One e-mail about `rows` in `language`: to the recipient (copying `cc`), or a copy to `readers`."""
    with speaking(language):
        if readers:
            framing = _a_copy(rows, content, language, readers)
        else:
            framing = _to_the_recipient(rows, content, language, shared=bool(cc))
        text, html, url = _render(rows, content, language, framing)
    headers = {
        "Message-ID": make_msgid(domain=sender_domain()),
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
        "X-Reminder-Kind": rows[0].kind,
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if readers:
        headers["X-Reminder-Copy-Of"] = rows[0].address
    subject = _one_line(framing.subject)
    message = ReminderEmail(subject, text, settings.DEFAULT_FROM_EMAIL, to, cc=list(cc), headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def compose_messages(rows, content, cc):
    """The e-mails about one recipient's rows (a user or an address): theirs first, then the copies.

    The recipient's e-mail is in the rows' language; the copied addresses that read it are on its Cc (everyone
    sees who was told). Each other language read among `cc` gets a copy of its own, To: its readers, in it.
    """
    rows = sorted(rows, key=lambda r: URGENCY.index(r.kind))
    language = rows[0].language or settings.LANGUAGE_CODE
    readers = content.readers(rows[0], cc)
    same = [reader.address for reader in readers.pop(language, [])]
    messages = [_email(rows, content, language, [rows[0].address], cc=same)]
    for other in sorted(readers):
        group = readers[other]
        messages.append(_email(rows, content, other, [reader.address for reader in group], readers=group))
    return messages


def compose(rows, content, cc):
    """The e-mail to the recipient: the first of `compose_messages` (copies in other languages left out)."""
    return compose_messages(rows, content, cc)[0]
