"""Demo data: accounts, focal points, three review cycles and reports spread over time, relative to today,
so that some items are plainly stalled whenever the demo is loaded. For demonstration only.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

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
from tracker.core.permissions import FOCAL_POINT_GROUP, REVIEWER_GROUP, SECRETARIAT_GROUP

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
]
REPORTING_STATES = ["EG", "JO", "MA", "TN", "IQ"]


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
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=spec.group))
    return user


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


def _cycles(body: Body, today: date) -> tuple[list[ReviewCycle], list[tuple[str, str, int, ReviewCycle.State]]]:
    specs = [
        ("Review cycle 1 (demo)", "دورة المراجعة الأولى (تجريبية)", 540, ReviewCycle.State.CLOSED),
        ("Review cycle 2 (demo)", "دورة المراجعة الثانية (تجريبية)", 360, ReviewCycle.State.CLOSED),
        ("Review cycle 3 (demo)", "دورة المراجعة الثالثة (تجريبية)", 180, ReviewCycle.State.OPEN),
    ]
    cycles = []
    for name_en, name_ar, days_ago, _state in specs:
        start = today - timedelta(days=days_ago)
        cycle, _ = ReviewCycle.objects.get_or_create(
            body=body,
            name_en=name_en,
            defaults={
                "name_ar": name_ar,
                "period_start": start,
                "period_end": start + timedelta(days=179),
                "report_deadline": start + timedelta(days=190),
                "review_meeting_date": start + timedelta(days=200),
            },
        )
        cycles.append(cycle)
    return cycles, specs


def _report(
    item: Implementation,
    author: User,
    cycle: ReviewCycle,
    when: datetime,
    status: Status,
    progress: int,
    rng: random.Random,
) -> None:
    obstacles = rng.choice(["", "", "Limited funding for reception centres.", "نقص التمويل لمراكز الاستقبال."])
    report = ProgressReport.objects.create(
        implementation=item,
        cycle=cycle,
        author=author,
        state=ProgressReport.State.SUBMITTED,
        submitted_at=when,
        status=status,
        progress=progress,
        narrative=f"Sample report (demo data): progress {progress}%.",
        obstacles=obstacles,
        based_on_version=item.version,
    )
    services._apply_report(item, report)


def _next_step(status: Status, progress: int, rng: random.Random) -> tuple[Status, int]:
    if status == Status.IMPLEMENTED:
        return status, progress
    step = rng.choice([0, 0, 10, 20, 30])
    progress = min(progress + step, 100)
    if progress == 100:
        return Status.IMPLEMENTED, 100
    return (Status.IN_PROGRESS if progress else Status.NOT_STARTED), progress


def _reports_for_state(state: MemberState, author: User, cycles: list[ReviewCycle], rng: random.Random) -> None:
    items = Implementation.objects.current().filter(member_state=state).order_by("recommendation__position")
    for index, item in enumerate(items):
        status, progress = Status.NOT_STARTED, 0
        quiet_from = rng.choice([1, 2, 3, 3])  # some items stop being reported: plainly stalled
        for number, cycle in enumerate(cycles):
            if number >= quiet_from or (index % 4 == 3 and number > 0):
                break
            status, progress = _next_step(status, progress, rng)
            when = timezone.make_aware(
                datetime.combine(cycle.period_start + timedelta(days=30 + index), datetime.min.time())
            )
            _report(item, author, cycle, when, status, progress, rng)


def _close(cycle: ReviewCycle) -> None:
    cycle.state = ReviewCycle.State.UNDER_REVIEW
    cycle.opened_at = timezone.make_aware(datetime.combine(cycle.period_start, datetime.min.time()))
    cycle.save()
    services.close_cycle_now(cycle)


@transaction.atomic
def load_demo(today: date | None = None) -> bool:
    """Create the demo; a second call finds everything in place and changes nothing."""
    today = today or timezone.localdate()
    body = Body.objects.get(code="aimc")
    users = {spec.username: _account(spec) for spec in ACCOUNTS}
    for spec in ACCOUNTS:
        _designate(users[spec.username], spec, body, today - timedelta(days=600))
    if ProgressReport.objects.filter(author__username__in=list(users)).exists():
        return False
    _sample_recommendation(body, today)
    cycles, _specs = _cycles(body, today)
    rng = random.Random(2021)
    for code in REPORTING_STATES:
        author = users[f"fp-{code.lower()}"]
        _reports_for_state(MemberState.objects.get(iso_code=code), author, cycles, rng)
    for cycle in cycles[:2]:
        _close(cycle)
    cycles[2].state, cycles[2].opened_at = ReviewCycle.State.OPEN, timezone.now() - timedelta(days=180)
    cycles[2].save()
    return True


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
