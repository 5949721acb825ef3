"""A region where some things are published and some are not.

Published: R1 and R2 (public) for Egypt (agreed, narratives too) and Jordan (agreed, no narratives).
Never public: R3 made confidential, Iraq (no agreement), Morocco (agreement withdrawn), every focal point's
name and e-mail. Egypt reported on R1 and R2, Jordan on R1, Iraq on R1; R3 is reported by Egypt.
"""

import datetime as dt
from datetime import UTC, timedelta

import pytest

from tests.conftest import FOCAL_POINT_GROUP, designate, make_user
from tests.support.commitments import item_of
from tracker.core import services
from tracker.core.models import (
    CycleSnapshot,
    Framework,
    FrameworkTarget,
    Implementation,
    MemberState,
    PublicationConsent,
    Recommendation,
    ReviewCycle,
)
from tracker.core.permissions import access_for

EGYPT_NARRATIVE = "A national referral mechanism for unaccompanied children was adopted by decree."
JORDAN_NARRATIVE = "Jordan's internal working note: ask the ministry again about the budget line."
IRAQ_NARRATIVE = "Iraq's narrative that must never be public."
CONFIDENTIAL_NARRATIVE = "Egypt's narrative on a confidential recommendation."


def agree(body, iso_code, narratives=False, progress=True):
    return PublicationConsent.objects.create(
        body=body,
        member_state=MemberState.objects.get(iso_code=iso_code),
        publishes_progress=progress,
        publishes_narratives=narratives,
        agreed_on=dt.date(2026, 9, 1) if progress else None,
        agreed_by="Ministry of Interior, letter 12/2026" if progress else "",
    )


def submit(user, iso_code, reference, status, progress, narrative):
    data = services.ReportInput(status=status, progress=progress, narrative=narrative)
    return services.submit_report(item_of(iso_code, reference), user, access_for(user), data)


@pytest.fixture
def sdg_10_7(reference):
    sdg = Framework.objects.create(
        code="sdg", name_en="Sustainable Development Goals", name_ar="أهداف التنمية المستدامة"
    )
    return FrameworkTarget.objects.create(
        framework=sdg,
        code="10.7",
        title_en="Facilitate orderly, safe, regular and responsible migration",
        title_ar="تيسير الهجرة المنظمة والآمنة والمنتظمة والمسؤولة",
    )


@pytest.fixture
def published(reference, sdg_10_7):
    """The region described above; returns the body."""
    Recommendation.objects.update(is_public=False)
    Recommendation.objects.filter(reference__in=["R1", "R2"]).update(is_public=True)
    Recommendation.objects.get(reference="R1").framework_targets.add(sdg_10_7)
    agree(reference, "EG", narratives=True)
    agree(reference, "JO")
    agree(reference, "MA", progress=False)  # recorded, then withdrawn: not agreed
    users = {iso: make_user(f"fp-{iso.lower()}", FOCAL_POINT_GROUP) for iso in ("EG", "JO", "IQ")}
    for iso, user in users.items():
        designate(user, iso, reference)
    submit(users["EG"], "EG", "R1", "implemented", 100, EGYPT_NARRATIVE)
    submit(users["EG"], "EG", "R2", "in_progress", 40, "Egypt drafts the law.")
    submit(users["EG"], "EG", "R3", "in_progress", 10, CONFIDENTIAL_NARRATIVE)
    submit(users["JO"], "JO", "R1", "in_progress", 60, JORDAN_NARRATIVE)
    submit(users["IQ"], "IQ", "R1", "implemented", 100, IRAQ_NARRATIVE)
    return reference


def closed_cycle(body, number):
    start = dt.date(2025, 1, 1) + timedelta(days=182 * number)
    return ReviewCycle.objects.create(
        body=body,
        name_en=f"Cycle {number}",
        name_ar=f"الدورة {number}",
        period_start=start,
        period_end=start + timedelta(days=180),
        report_deadline=start + timedelta(days=150),
        state="closed",
        closed_at=dt.datetime.combine(start + timedelta(days=200), dt.datetime.min.time(), tzinfo=UTC),
    )


def freeze(cycle, rows):
    """Snapshots of the items named (iso, reference) -> (status, progress)."""
    CycleSnapshot.objects.bulk_create(
        CycleSnapshot(
            cycle=cycle,
            implementation=Implementation.objects.get(member_state__iso_code=iso, recommendation__reference=ref),
            status=status,
            progress=progress,
        )
        for (iso, ref), (status, progress) in rows.items()
    )


@pytest.fixture
def history(published):
    """Two closed cycles: Egypt's R1 in progress then implemented; Jordan's R1 not started then in progress;
    Iraq's R1 (never agreed) and Egypt's R3 (confidential) frozen too."""
    first, second = closed_cycle(published, 1), closed_cycle(published, 2)
    hidden = {("IQ", "R1"): ("implemented", 100), ("EG", "R3"): ("implemented", 100), ("MA", "R1"): ("implemented", 90)}
    freeze(first, {("EG", "R1"): ("in_progress", 50), ("JO", "R1"): ("not_started", 0), **hidden})
    freeze(second, {("EG", "R1"): ("implemented", 100), ("JO", "R1"): ("in_progress", 30), **hidden})
    return first, second
