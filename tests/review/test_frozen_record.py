"""A closed cycle's record never changes: its report and exports read only what was frozen at its close."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone

from tracker.core.models import FocalPointDesignation, Implementation, Recommendation, ReviewCycle
from tracker.core.permissions import access_for
from tracker.core.services import ReportInput, close_cycle_now, move_cycle, submit_report

# The close comes 190 days after the reference data was created: never-reported items are stalled by then.
T0 = timezone.now().replace(microsecond=0) + timedelta(days=190)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()
    yield
    cache.clear()


def make_cycle(body, name, start):
    return ReviewCycle.objects.create(
        body=body,
        name_en=name,
        name_ar=f"دورة {name}",
        period_start=start,
        period_end=start + timedelta(days=120),
        report_deadline=start + timedelta(days=90),
    )


def report_on(items, user, progress):
    FocalPointDesignation.objects.filter(user=user).update(start_date=date(2020, 1, 1))
    for item in items:
        fresh = Implementation.objects.get(pk=item.pk)
        data = ReportInput(status="in_progress", progress=progress, narrative="Done in part.")
        submit_report(fresh, user, access_for(user), data)


def egypt_items():
    return list(Implementation.objects.filter(member_state__iso_code="EG").order_by("pk"))


@pytest.fixture
def closed(reference, egypt_focal_point):
    """Cycle 1 closed with five of Egypt's items reported in it."""
    with time_machine.travel(T0, tick=False):
        cycle = move_cycle(make_cycle(reference, "Cycle 1", T0.date()), "open")
        report_on(egypt_items()[:5], egypt_focal_point, 30)
        move_cycle(cycle, "under_review")
        return close_cycle_now(cycle)


def later_changes(reference, egypt_focal_point):
    """What happens after the close: a new cycle, new reports, an archived recommendation, new thresholds."""
    with time_machine.travel(T0 + timedelta(days=150), tick=False):
        move_cycle(make_cycle(reference, "Cycle 2", T0.date() + timedelta(days=150)), "open")
        report_on(egypt_items()[:9], egypt_focal_point, 60)
    Recommendation.objects.filter(reference="R7", meeting__body=reference).update(is_archived=True)
    reference.stale_after_days = 30
    reference.save()
    cache.clear()


def get(client, path, reviewer):
    with time_machine.travel(T0 + timedelta(days=200), tick=False):
        client.force_login(reviewer)  # signed in then: a session from today would have expired
        return client.get(path, HTTP_ACCEPT_LANGUAGE="en")


def test_it_prints_a_closed_cycles_report_byte_for_byte_the_same_after_new_reports(
    client, reviewer, closed, reference, egypt_focal_point
):
    path = f"/review/report/?cycle={closed.pk}&lang=en"
    before = get(client, path, reviewer).content
    later_changes(reference, egypt_focal_point)
    after = get(client, path, reviewer).content
    assert after == before
    assert b"Situation at the close of Cycle 1" in before


def test_it_counts_what_was_reported_in_the_cycle_at_its_close(client, reviewer, closed, reference, egypt_focal_point):
    later_changes(reference, egypt_focal_point)
    page = get(client, f"/review/report/?cycle={closed.pk}&lang=en", reviewer)
    assert page.context["reported"] == {"expected": 154, "reported": 5}
    assert page.context["summary"]["totals"]["total"] == 154  # R7 was archived later: still in the record


def test_it_exports_a_closed_cycle_the_same_after_new_reports(client, reviewer, closed, reference, egypt_focal_point):
    for export in ("export.csv", "export.xlsx"):
        before = get(client, f"/review/{export}?cycle={closed.pk}&lang=en", reviewer)
        before_bytes = b"".join(before.streaming_content)
        later_changes(reference, egypt_focal_point) if export == "export.csv" else None
        after = get(client, f"/review/{export}?cycle={closed.pk}&lang=en", reviewer)
        if export == "export.csv":
            assert b"".join(after.streaming_content) == before_bytes
            assert before_bytes.count(b"\n") == 155  # a header and the 154 frozen items
        assert f"review-aimc-{timezone.localtime(T0):%Y-%m-%d}" in after["Content-Disposition"]


def test_it_lists_the_items_stalled_at_the_close_with_the_reasons_frozen_then(
    client, reviewer, closed, reference, egypt_focal_point
):
    later_changes(reference, egypt_focal_point)
    page = get(client, f"/review/report/?cycle={closed.pk}&lang=en", reviewer)
    stalled = page.context["stalled"]
    reported = {i.pk for i in egypt_items()[:5]}
    assert len(stalled) == 154 - 5  # never-reported items: reported nothing for 180 days at the close
    assert not reported & {item.pk for item in stalled}
    assert all("Never reported" in item.explanations[0] for item in stalled)


def test_it_says_when_a_cycle_closed_before_records_were_frozen(client, reviewer, closed):
    ReviewCycle.objects.filter(pk=closed.pk).update(record=None)  # as a cycle closed by an earlier version
    page = get(client, f"/review/report/?cycle={closed.pk}&lang=en", reviewer).content.decode()
    assert "closed before the tracker froze the record" in page and "Situation on" in page
