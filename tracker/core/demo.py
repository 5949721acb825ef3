"""Demo data: accounts, focal points and three review cycles, built by the real services over simulated dates
relative to today (reports, outcomes with commitments, closes), so the record is consistent and the region looks
like a real one: some states diligent, some late, some stalled, a few commitments late. For demonstration only.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from unittest import mock

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from tracker.core import services
from tracker.core.models import (
    Body,
    FocalPointDesignation,
    Implementation,
    MemberState,
    ProgressReport,
    ReviewCycle,
    Status,
)
from tracker.core.permissions import FOCAL_POINT_GROUP, REVIEWER_GROUP, SECRETARIAT_GROUP, access_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from tracker.core.models import Recommendation

DEMO_PASSWORD = "demo-pass-2021"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    first_name: str
    last_name: str
    group: str
    state: str = ""
    role: str = ""
    language: str = "ar"


ACCOUNTS = [
    DemoAccount("secretariat", "Leila", "Haddad", SECRETARIAT_GROUP, language="en"),
    DemoAccount("reviewer", "Samir", "Nasser", REVIEWER_GROUP, language="en"),
    DemoAccount("fp-eg", "Ahmed", "Mahmoud", FOCAL_POINT_GROUP, "EG", "primary"),
    DemoAccount("fp-eg-alt", "Mona", "Fathy", FOCAL_POINT_GROUP, "EG", "alternate"),
    DemoAccount("fp-jo", "Rania", "Khalil", FOCAL_POINT_GROUP, "JO", "primary", "en"),
    DemoAccount("fp-ma", "Youssef", "Alaoui", FOCAL_POINT_GROUP, "MA", "primary"),
    DemoAccount("fp-tn", "Sami", "Trabelsi", FOCAL_POINT_GROUP, "TN", "primary"),
    DemoAccount("fp-iq", "Zainab", "Hassan", FOCAL_POINT_GROUP, "IQ", "primary"),
    # Iraq's reports need national validation (turned on after the simulated history): its validator has one waiting.
    DemoAccount("validator-iq", "Hadi", "Jaber", FOCAL_POINT_GROUP, "IQ", "validator"),
]


def _account(spec: DemoAccount) -> User:
    user, created = get_user_model().objects.get_or_create(
        username=spec.username,
        defaults={
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "email": f"{spec.username}@demo.invalid",
            "is_staff": spec.group != FOCAL_POINT_GROUP,
        },
    )
    if created:
        user.password = demo_password_hash()
        user.save()
        user.groups.add(Group.objects.get(name=spec.group))
    return user


@functools.cache
def demo_password_hash() -> str:
    """The demo password hashed once for every demo account (a few hundred ms of key stretching each)."""
    from django.contrib.auth.hashers import make_password

    return make_password(DEMO_PASSWORD)


def _designate(user: User, spec: DemoAccount, body: Body, since: date) -> None:
    if not spec.state:
        return
    state = MemberState.objects.get(iso_code=spec.state)
    FocalPointDesignation.objects.get_or_create(
        user=user,
        member_state=state,
        body=body,
        end_date=None,
        defaults={
            "role": spec.role,
            "start_date": since,
            "preferred_language": spec.language,
            "phone": "+000 0000 0000",
        },
    )


# How each state's focal points behave: the mix a real region shows.
DILIGENT = ["EG", "JO", "MA", "TN", "AE", "SA", "QA", "BH"]  # report every cycle, move forward
LATE = ["IQ", "LB", "OM", "KW", "DZ", "PS", "SY"]  # reported before; a quarter of their items missing this cycle
STALLED = ["LY", "SD", "YE"]  # reported once, with obstacles, then nothing
#: the rest (SO, DJ, KM, MR) have never reported: no focal point is designated in the demo.
CYCLE_DAYS = 180
CYCLES = [
    ("Review cycle 1 (demo)", "دورة المراجعة الأولى (تجريبية)"),
    ("Review cycle 2 (demo)", "دورة المراجعة الثانية (تجريبية)"),
    ("Review cycle 3 (demo)", "دورة المراجعة الثالثة (تجريبية)"),
]


@contextmanager
def simulated_clock(moment: datetime) -> Iterator[None]:
    """Run the real services as if it were `moment`: every timestamp they and the models write (reports,
    cycle moves, snapshots, created and updated) reads django.utils.timezone.now."""
    with mock.patch.object(timezone, "now", lambda: moment):
        yield


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@dataclass
class Timeline:
    """The demo's calendar, relative to the day it is loaded: two closed cycles and an open one due soon."""

    today: date

    def start(self, number: int) -> date:
        """Cycle 3 began 170 days ago: its deadline is 12 days away, the moment reminders and the "reports
        missing" table matter most."""
        return self.today - timedelta(days=170 + CYCLE_DAYS * (3 - number))

    def day(self, number: int, offset: int) -> datetime:
        return at(self.start(number) + timedelta(days=offset))


def _plan_cycles(body: Body, timeline: Timeline) -> list[ReviewCycle]:
    cycles = []
    for number, (name_en, name_ar) in enumerate(CYCLES, start=1):
        start = timeline.start(number)
        with simulated_clock(at(start - timedelta(days=20))):
            cycle, _ = ReviewCycle.objects.get_or_create(
                body=body,
                name_en=name_en,
                defaults={
                    "name_ar": name_ar,
                    "period_start": start,
                    "period_end": start + timedelta(days=CYCLE_DAYS - 1),
                    "report_deadline": start + timedelta(days=CYCLE_DAYS - 30 if number < 3 else 182),
                    "review_meeting_date": start + timedelta(days=CYCLE_DAYS - 15 if number < 3 else CYCLE_DAYS + 30),
                },
            )
        cycles.append(cycle)
    return cycles


NARRATIVE = {
    "ar": "تقرير تجريبي: تقدّم العمل إلى %(progress)d%% (بيانات عرض).",
    "en": "Sample report (demo data): work has reached %(progress)d%%.",
}
DONE = {
    "ar": "تقرير تجريبي: نُفّذت التوصية بالكامل وصدر القرار (بيانات عرض).",
    "en": "Sample report (demo data): fully implemented, the decree was issued.",
}
OBSTACLE = {
    "ar": "نقص التمويل لمراكز الاستقبال وتأخر اعتماد الإجراءات.",
    "en": "Funding for reception centres is short and the procedures await approval.",
}


def _submit(item: Implementation, author: User, status: Status, progress: int, obstacle: bool = False) -> None:
    language = "en" if author.username == "fp-jo" else "ar"
    text = DONE if status == Status.IMPLEMENTED else NARRATIVE
    data = services.ReportInput(
        status=status,
        progress=progress,
        narrative=text[language] % {"progress": progress},
        obstacles=OBSTACLE[language] if obstacle else "",
    )
    fresh = Implementation.objects.select_related("recommendation__meeting").get(pk=item.pk)
    services.submit_report(fresh, author, access_for(author), data)


def _step(item: Implementation, rng: random.Random) -> tuple[Status, int]:
    """One cycle's honest progress: most items move forward, a few reach implemented."""
    progress = min(item.progress + rng.choice([10, 15, 20, 25, 30, 40]), 100)
    if progress >= 90 and rng.random() < 0.5:
        return Status.IMPLEMENTED, 100
    return Status.IN_PROGRESS, min(progress, 95)


def _reports_in_cycle(number: int, timeline: Timeline, authors: dict[str, User], rng: random.Random) -> None:
    for code, author in authors.items():
        items = list(
            Implementation.objects.current().filter(member_state__iso_code=code).order_by("recommendation__position")
        )
        if code in STALLED and number > 1:
            continue
        if code in LATE and number == 3:
            items = items[: len(items) * 3 // 4]
        for index, item in enumerate(items):
            item.refresh_from_db()
            if item.is_settled:
                continue
            with simulated_clock(timeline.day(number, 20 + 7 * index + rng.randint(0, 5))):
                if code in STALLED:
                    _submit(item, author, Status.IN_PROGRESS, 10, obstacle=index == 0)
                else:
                    status, progress = _step(item, rng)
                    # A few obstacles for the review to solve: late states keep meeting one, diligent ones once.
                    obstacle = index == 0 if code in LATE else (number == 1 and index == 1)
                    _submit(item, author, status, progress, obstacle=obstacle)


def _review(number: int, cycle: ReviewCycle, timeline: Timeline, secretariat: User, rng: random.Random) -> None:
    """Under review: the secretariat records outcomes for items with an obstacle, each agreeing a solution with
    commitments due after the review; then the cycle closes."""
    from tracker.core.commitments import CommitmentInput, record_outcome_with_commitments
    from tracker.core.models import Organisation

    with simulated_clock(timeline.day(number, CYCLE_DAYS - 25)):
        services.move_cycle(cycle, ReviewCycle.State.UNDER_REVIEW, by=secretariat)
    unhcr = Organisation.objects.filter(code="unhcr").first()
    access = access_for(secretariat)
    blocked = Implementation.objects.filter(has_open_obstacle=True).select_related("member_state").order_by("pk")
    for index, item in enumerate(blocked):
        due = timeline.start(number) + timedelta(days=CYCLE_DAYS + 45 + 75 * (index % 4))
        commitments = [
            CommitmentInput(
                description="Draft the budget request with the ministry of finance (demo data)", due_date=due
            )
        ]
        if unhcr is not None and index % 2 == 0:
            commitments.append(
                CommitmentInput(
                    description="Technical support mission on reception procedures (demo data)",
                    due_date=due,
                    owner="partner",
                    organisation=unhcr,
                )
            )
        with simulated_clock(timeline.day(number, CYCLE_DAYS - 20)):
            record_outcome_with_commitments(
                item,
                secretariat,
                access,
                commitments,
                obstacle_category="resources",
                obstacle=OBSTACLE["en"],
                solution="Funding from the regional programme; UNHCR advises on procedures (demo data).",
            )
    with simulated_clock(timeline.day(number, CYCLE_DAYS - 10)):
        services.close_cycle_now(cycle, by=secretariat)


def _follow_up_commitments(timeline: Timeline, authors: dict[str, User], secretariat: User) -> None:
    """Commitments due by now: diligent states mark theirs done and the secretariat confirms, UNHCR's are done,
    late states do three in four, stalled states none: a few commitments run late, as in a real region."""
    from tracker.core import commitments
    from tracker.core.models import Commitment

    due = Commitment.objects.filter(due_date__lte=timeline.today).select_related("implementation__member_state")
    for index, commitment in enumerate(due.order_by("pk")):
        code = commitment.implementation.member_state.iso_code
        keeps = code in DILIGENT or (code in LATE and index % 4 != 0)
        if commitment.owner == Commitment.Owner.STATE and keeps:
            done_by = authors[code]
        elif commitment.owner == Commitment.Owner.PARTNER and code not in STALLED:
            done_by = secretariat  # recorded by the secretariat on the partner's behalf
        else:
            continue
        with simulated_clock(at(commitment.due_date - timedelta(days=5))):
            note = "Done as agreed at the review (demo data)."
            commitments.mark_done(commitment, done_by, access_for(done_by), note=note)
        with simulated_clock(at(commitment.due_date - timedelta(days=2))):
            commitments.confirm(commitment, secretariat, access_for(secretariat))


def _backdate_items(body: Body) -> None:
    """Items were followed up from the day their meeting adopted the recommendations, not from the day the demo
    was loaded: otherwise a state that never reported would not look stalled."""
    for item in Implementation.objects.filter(recommendation__meeting__body=body).select_related(
        "recommendation__meeting"
    ):
        adopted = item.recommendation.meeting.end_date or item.recommendation.meeting.start_date
        if adopted and item.last_reported_at is None:
            Implementation.objects.filter(pk=item.pk).update(created_at=at(adopted), status_changed_at=at(adopted))


def _accounts_for_states(body: Body, today: date) -> dict[str, User]:
    """The documented demo accounts, and a focal point for each other state that reports in the demo."""
    users = {spec.username: _account(spec) for spec in ACCOUNTS}
    for spec in ACCOUNTS:
        _designate(users[spec.username], spec, body, today - timedelta(days=CYCLE_DAYS * 3 + 60))
    authors = {}
    for code in DILIGENT + LATE + STALLED:
        username = f"fp-{code.lower()}"
        if username not in users:
            spec = DemoAccount(username, "Focal", f"point {code}", FOCAL_POINT_GROUP, code, "primary")
            users[username] = _account(spec)
            _designate(users[username], spec, body, today - timedelta(days=CYCLE_DAYS * 3 + 60))
        authors[code] = users[username]
    authors["_secretariat"] = users["secretariat"]
    return authors


@transaction.atomic
def load_demo(today: date | None = None) -> bool:
    """Create the demo by running the real services over simulated dates (open, report, review, record outcomes
    and commitments, close), so that snapshots and reports agree; a second call changes nothing."""
    today = today or timezone.localdate()
    body = Body.objects.get(code="aimc")
    authors = _accounts_for_states(body, today)
    secretariat = authors.pop("_secretariat")
    _publication(body, secretariat, today)
    if ProgressReport.objects.filter(author__in=list(authors.values())).exists():
        return False
    timeline = Timeline(today)
    _sample_recommendation(body, today)
    _backdate_items(body)
    cycles = _plan_cycles(body, timeline)
    rng = random.Random(2021)
    for number, cycle in enumerate(cycles, start=1):
        with simulated_clock(timeline.day(number, 0)):
            services.move_cycle(cycle, ReviewCycle.State.OPEN, by=secretariat)
        _reports_in_cycle(number, timeline, authors, rng)
        if number < 3:
            _review(number, cycle, timeline, secretariat, rng)
    _follow_up_commitments(timeline, authors, secretariat)
    _national_validation(body, authors["IQ"])
    return True


#: Which states agreed to publish in the demo, and whether their narratives too; the others did not agree.
PUBLISHING = {"EG": True, "JO": False, "MA": True, "TN": False, "LB": False}

#: The external framework targets each adopted recommendation serves (keys of fixtures/frameworks.json).
FRAMEWORK_LINKS = {
    "R1": ["gcr-1", "sdg-10.7"],
    "R2": ["sdg-17.18", "sdg-10.7"],
    "R3": ["sdg-10.7", "gcr-1"],
    "R4": ["sdg-16.2", "sdg-5.2"],
    "R5": ["sdg-16.3", "sdg-5.2"],
    "R6": ["sdg-10.7"],
    "R7": ["sdg-17.18"],
}


def _publication(body: Body, secretariat: User, today: date) -> None:
    """Five states agreed to publish (two of them their narratives too); the adopted recommendations are linked to
    SDG targets and Global Compact on Refugees objectives. Only what is missing is added: a second run keeps the
    secretariat's changes."""
    from tracker.core.models import FrameworkTarget, PublicationConsent, Recommendation

    for code, narratives in PUBLISHING.items():
        PublicationConsent.objects.get_or_create(
            body=body,
            member_state=MemberState.objects.get(iso_code=code),
            defaults={
                "publishes_progress": True,
                "publishes_narratives": narratives,
                "agreed_on": today - timedelta(days=90),
                "agreed_by": "Ministry of Interior (demo)",
                "recorded_by": secretariat,
            },
        )
    targets = {target.key: target for target in FrameworkTarget.objects.select_related("framework")}
    for recommendation in Recommendation.objects.filter(meeting__body=body, framework_targets__isnull=True):
        linked = [targets[key] for key in FRAMEWORK_LINKS.get(recommendation.reference, []) if key in targets]
        recommendation.framework_targets.add(*linked)


def _national_validation(body: Body, focal_point: User) -> None:
    """Iraq now validates its reports nationally: one of the items it has not reported in this cycle waits."""
    from tracker.core.models import MemberState, NationalValidation

    iraq = MemberState.objects.get(iso_code="IQ")
    NationalValidation.objects.create(body=body, member_state=iraq, required=True)
    cycle = services.current_cycle_of(body.pk)
    waiting = Implementation.objects.current().unsettled().filter(member_state=iraq)
    if cycle is not None:
        waiting = waiting.exclude(last_report_cycle=cycle)
    item = waiting.order_by("recommendation__position").first()
    if item is not None:
        _submit(item, focal_point, Status.IN_PROGRESS, min(item.progress + 20, 95))


def _sample_recommendation(body: Body, today: date) -> Recommendation:
    """A clearly labelled sample item (not adopted by any meeting) whose target date has passed."""
    from tracker.core.models import Meeting, Recommendation

    meeting = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    recommendation, _ = Recommendation.objects.get_or_create(
        meeting=meeting,
        reference="SAMPLE-1",
        defaults={
            "position": 99,
            "is_sample": True,
            "target_date": today - timedelta(days=30),
            "text_en": "[Sample item, demo data only] Publish national statistics on referrals of trafficking victims.",
            "text_ar": "[بند تجريبي، بيانات عرض فقط] نشر إحصاءات وطنية عن إحالة ضحايا الاتجار بالبشر.",
        },
    )
    return recommendation
