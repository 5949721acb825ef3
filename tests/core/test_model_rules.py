"""Rules of the model itself: implementations follow applicability, nothing is hard-deleted, reports update
the implementation in the same transaction."""

import pytest
from django.core.exceptions import ValidationError

from tracker.core import services
from tracker.core.models import Implementation, Meeting, MemberState, ProgressReport, Recommendation
from tracker.core.permissions import access_for

pytestmark = pytest.mark.django_db


def new_recommendation(**extra):
    meeting = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    return Recommendation.objects.create(meeting=meeting, reference="R99", text_en="New", text_ar="جديدة", **extra)


def test_it_creates_one_implementation_per_member_state_by_default(reference):
    recommendation = new_recommendation()
    assert recommendation.implementations.filter(applies=True).count() == 22


def test_it_limits_implementations_to_the_states_a_recommendation_applies_to(reference):
    recommendation = new_recommendation()
    recommendation.applies_to.set(MemberState.objects.filter(iso_code__in=["EG", "JO"]))
    applying = recommendation.implementations.filter(applies=True)
    assert sorted(applying.values_list("member_state__iso_code", flat=True)) == ["EG", "JO"]


def test_it_keeps_the_record_of_a_state_that_no_longer_applies(reference):
    recommendation = new_recommendation()
    recommendation.applies_to.set(MemberState.objects.filter(iso_code="EG"))
    assert recommendation.implementations.count() == 22
    assert not Implementation.objects.current().filter(recommendation=recommendation, member_state__iso_code="JO")


def test_it_adds_implementations_when_a_body_gains_a_member_state(reference):
    newcomer = MemberState.objects.create(iso_code="XK", name_en="Sample state", name_ar="دولة تجريبية")
    reference.member_states.add(newcomer)
    assert Implementation.objects.filter(member_state=newcomer).count() == 7


@pytest.mark.parametrize("model", [Recommendation, Implementation])
def test_it_never_hard_deletes(reference, model):
    obj = model.objects.first()
    with pytest.raises(ValidationError):
        obj.delete()
    assert model.objects.filter(pk=obj.pk).exists()


def test_it_updates_the_implementation_when_a_report_is_submitted(egypt_focal_point):
    item = Implementation.objects.get(recommendation__reference="R2", member_state__iso_code="EG")
    data = services.ReportInput(status="in_progress", progress=40, narrative="Data-sharing protocol drafted.")
    report = services.submit_report(
        item, egypt_focal_point, access_for(egypt_focal_point), data, expected_version=item.version
    )
    item.refresh_from_db()
    assert (item.status, item.progress, item.version) == ("in_progress", 40, 2)
    assert item.last_reported_at == report.submitted_at


def test_it_leaves_the_implementation_alone_for_a_draft(egypt_focal_point):
    item = Implementation.objects.get(recommendation__reference="R2", member_state__iso_code="EG")
    data = services.ReportInput(status="in_progress", progress=40)
    services.save_draft(item, egypt_focal_point, access_for(egypt_focal_point), data)
    item.refresh_from_db()
    assert (item.status, item.last_reported_at, item.version) == ("not_started", None, 1)
    assert ProgressReport.objects.drafts().count() == 1


def test_it_refuses_a_report_based_on_an_old_version(egypt_focal_point, egypt_alternate):
    item = Implementation.objects.get(recommendation__reference="R2", member_state__iso_code="EG")
    first = services.ReportInput(status="in_progress", progress=10, narrative="First.")
    services.submit_report(item, egypt_alternate, access_for(egypt_alternate), first, expected_version=1)
    second = services.ReportInput(status="in_progress", progress=20, narrative="Second.")
    with pytest.raises(services.StaleVersion):
        services.submit_report(item, egypt_focal_point, access_for(egypt_focal_point), second, expected_version=1)
    assert ProgressReport.objects.submitted().count() == 1


def test_it_refuses_a_report_on_another_states_item(jordan_focal_point):
    item = Implementation.objects.get(recommendation__reference="R2", member_state__iso_code="EG")
    data = services.ReportInput(status="in_progress", progress=10, narrative="x")
    with pytest.raises(Exception, match="may not report"):
        services.submit_report(item, jordan_focal_point, access_for(jordan_focal_point), data)
    assert not ProgressReport.objects.exists()
