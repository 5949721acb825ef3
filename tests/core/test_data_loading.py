from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from tracker.core.models import (
    Body,
    Implementation,
    Meeting,
    MemberState,
    ProgressReport,
    Recommendation,
    ReviewCycle,
    ThematicArea,
)

pytestmark = pytest.mark.django_db


def counts():
    models = [
        MemberState,
        Body,
        ThematicArea,
        Meeting,
        Recommendation,
        Implementation,
        ProgressReport,
        ReviewCycle,
        User,
        Recommendation.history.model,
        Implementation.history.model,
    ]
    return {model.__name__: model.objects.count() for model in models}


def run(command):
    out = StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def test_it_loads_the_real_reference_data():
    run("load_reference_data")
    assert MemberState.objects.count() == 22
    assert MemberState.objects.get(iso_code="EG").name_ar == "مصر"
    assert ThematicArea.objects.count() == 8
    workshop = Meeting.objects.get(code="2021-sharm-el-sheikh-workshop")
    assert workshop.recommendations.count() == 7
    assert Meeting.objects.get(code="2016-expert-meeting-security-protection").recommendations.count() == 0
    assert Implementation.objects.count() == 7 * 22


def test_it_marks_the_arabic_recommendations_as_working_translations():
    run("load_reference_data")
    assert set(Recommendation.objects.values_list("arabic_text_status", flat=True)) == {"working"}


def test_it_changes_nothing_when_reference_data_is_loaded_twice():
    run("load_reference_data")
    before = counts()
    stamps = list(Recommendation.objects.values_list("updated_at", flat=True))
    assert "0 rows" in run("load_reference_data")
    assert counts() == before
    assert list(Recommendation.objects.values_list("updated_at", flat=True)) == stamps


def test_it_changes_nothing_when_demo_data_is_loaded_twice():
    run("load_demo_data")
    before = counts()
    password = User.objects.get(username="fp-eg").password
    assert "nothing changed" in run("load_demo_data")
    assert counts() == before
    assert User.objects.get(username="fp-eg").password == password


def test_it_creates_the_demo_accounts_with_the_documented_password():
    run("load_demo_data")
    for username in ["secretariat", "reviewer", "fp-eg", "fp-eg-alt", "fp-jo"]:
        assert User.objects.get(username=username).check_password("demo-pass-2021")


def test_it_labels_demo_only_items_as_samples():
    run("load_demo_data")
    samples = Recommendation.objects.filter(is_sample=True)
    assert samples.exists()
    assert all("Sample" in r.text_en for r in samples)


def test_it_has_plainly_stalled_items_in_the_demo():
    run("load_demo_data")
    counts_by_reason = Implementation.objects.count_by_reason()
    assert counts_by_reason["no_recent_report"] > 0
    assert counts_by_reason["unchanged"] > 0
    assert counts_by_reason["past_target"] > 0
    assert Implementation.objects.stalled().filter(member_state__iso_code="EG").exists()


def test_it_has_two_closed_cycles_and_an_open_one_in_the_demo():
    run("load_demo_data")
    states = sorted(ReviewCycle.objects.values_list("state", flat=True))
    assert states == ["closed", "closed", "open"]


def test_it_builds_a_demo_whose_snapshots_agree_with_its_reports_and_whose_states_differ():
    from tracker.core.models import Commitment, CycleSnapshot

    run("load_demo_data")
    for cycle in ReviewCycle.objects.filter(state="closed"):
        reported = set(cycle.reports.filter(state="submitted").values_list("implementation_id", flat=True))
        frozen = set(
            CycleSnapshot.objects.filter(cycle=cycle, reported_in_cycle=True).values_list(
                "implementation_id", flat=True
            )
        )
        assert frozen == reported and reported
        for snapshot in CycleSnapshot.objects.filter(cycle=cycle, implementation_id__in=reported):
            last = (
                ProgressReport.objects.submitted()
                .filter(implementation_id=snapshot.implementation_id, submitted_at__lte=cycle.closed_at)
                .order_by("-submitted_at")
                .first()
            )
            assert (snapshot.status, snapshot.progress) == (last.status, last.progress)
    # ... and shows a region with diligent, late and stalled states
    stalled = Implementation.objects.stalled()
    assert stalled.count() < 0.6 * Implementation.objects.current().count()
    real = stalled.filter(recommendation__is_sample=False)
    assert not real.filter(member_state__iso_code__in=["EG", "JO", "MA", "TN"]).exists()  # diligent
    assert real.filter(member_state__iso_code="LY").count() == 7  # stalled since the first cycle
    late = [c for c in Commitment.objects.all() if c.is_late()]
    assert 0 < len(late) < Commitment.objects.filter(state="done").count()  # a few late, most done
