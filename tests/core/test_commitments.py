"""Commitments: recorded with an agreed solution, marked done by their owner, confirmed, reopened or dropped by the
secretariat; the item's earliest open due date kept right; late is derived; "commitments from the last review"."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.focal.helpers import fake_pdf, pdf
from tests.support.commitments import agree, close, item_of, promise, review_cycle, unhcr
from tracker.core import commitments
from tracker.core.evidence import may_download
from tracker.core.models import Commitment, Evidence, Implementation, Recommendation, ReviewOutcome
from tracker.core.permissions import REVIEWER_GROUP, SECRETARIAT_GROUP, Access, access_for
from tracker.core.querysets import StalledReason, stalled_reasons_of

pytestmark = pytest.mark.django_db


def due_of(item):
    return Implementation.objects.values_list("open_commitment_due", flat=True).get(pk=item.pk)


def days(n):
    return timezone.localdate() + timedelta(days=n)


# --- Recording --------------------------------------------------------------------------------------------


def test_it_records_several_commitments_with_an_outcome_and_keeps_the_earliest_due(secretariat_officer):
    item = item_of("EG")
    later, sooner = agree(item, secretariat_officer, promise(days=60), promise("Train border staff", days=20))
    assert (later.state, sooner.state) == ("open", "open")
    assert later.outcome_id == sooner.outcome_id and later.implementation_id == item.pk
    assert due_of(item) == days(20)
    assert item.history.first().history_change_reason.startswith("Review outcome")


def test_it_refuses_commitments_without_an_agreed_solution_and_records_nothing(secretariat_officer):
    with pytest.raises(ValidationError) as refused:
        agree(item_of("EG"), secretariat_officer, promise(), solution="  ")
    assert "solution" in refused.value.message_dict
    assert not ReviewOutcome.objects.exists() and not Commitment.objects.exists()


@pytest.mark.parametrize("persona", ["reviewer", "egypt_focal_point"])
def test_it_lets_only_the_secretariat_record_commitments(request, persona):
    user = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        agree(item_of("EG"), user, promise())
    assert not Commitment.objects.exists()


@pytest.mark.parametrize(
    ("owner", "organisation", "due", "field"),
    [
        ("partner", None, 10, "organisation"),
        ("state", "unhcr", 10, "organisation"),
        ("state", None, -1, "due_date"),
        ("someone", None, 10, "owner"),
    ],
)
def test_it_refuses_a_commitment_that_breaks_a_rule_with_the_field_named(
    secretariat_officer, owner, organisation, due, field
):
    wanted = promise(days=due, owner=owner, organisation=unhcr() if organisation else None)
    with pytest.raises(ValidationError) as refused:
        agree(item_of("EG"), secretariat_officer, promise(), wanted)
    assert field in refused.value.message_dict
    assert not Commitment.objects.exists() and not ReviewOutcome.objects.exists()


def test_it_names_the_partner_that_follows_up(secretariat_officer):
    [commitment] = agree(item_of("EG"), secretariat_officer, promise(owner="partner", organisation=unhcr()))
    assert commitment.organisation.code == "unhcr"


def test_the_database_refuses_an_organisation_without_a_partner_owner(secretariat_officer):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Commitment.objects.filter(pk=commitment.pk).update(organisation=unhcr())


def test_it_never_deletes_a_commitment(secretariat_officer):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    with pytest.raises(ValidationError):
        commitment.delete()


# --- Marking done -----------------------------------------------------------------------------------------


def test_it_lets_a_focal_point_mark_their_states_commitment_done(secretariat_officer, egypt_focal_point):
    item = item_of("EG")
    first, second = agree(item, secretariat_officer, promise(days=10), promise(days=40))
    done = commitments.mark_done(first, egypt_focal_point, access_for(egypt_focal_point), "  Protocol signed. ")
    assert (done.state, done.done_note, done.done_by) == ("done", "Protocol signed.", egypt_focal_point)
    assert done.done_at is not None
    assert due_of(item) == days(40)
    commitments.mark_done(second, egypt_focal_point, access_for(egypt_focal_point), "Trained.")
    assert due_of(item) is None
    assert done.history.first().history_user == egypt_focal_point


def test_it_refuses_another_states_focal_point_and_a_reviewer(secretariat_officer, jordan_focal_point, reviewer):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    for user in (jordan_focal_point, reviewer):
        with pytest.raises(PermissionDenied):
            commitments.mark_done(commitment, user, access_for(user), "Done.")
    assert Commitment.objects.get().state == "open"


def test_it_lets_only_the_secretariat_mark_secretariat_and_partner_commitments_done(
    secretariat_officer, egypt_focal_point
):
    ours, partners = agree(
        item_of("EG"), secretariat_officer, promise(owner="secretariat"), promise(owner="partner", organisation=unhcr())
    )
    with pytest.raises(PermissionDenied):
        commitments.mark_done(ours, egypt_focal_point, access_for(egypt_focal_point), "Done.")
    officer = access_for(secretariat_officer)
    assert commitments.mark_done(ours, secretariat_officer, officer, "Workshop held.").state == "done"
    assert commitments.mark_done(partners, secretariat_officer, officer, "UNHCR sent experts.").state == "done"


def test_it_requires_a_note_saying_what_was_done(secretariat_officer, egypt_focal_point):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    with pytest.raises(ValidationError) as refused:
        commitments.mark_done(commitment, egypt_focal_point, access_for(egypt_focal_point), " \n ")
    assert "note" in refused.value.message_dict
    assert Commitment.objects.get().state == "open"


def test_it_refuses_to_mark_done_what_is_not_open(secretariat_officer, egypt_focal_point):
    done, dropped = agree(item_of("EG"), secretariat_officer, promise(), promise())
    access = access_for(egypt_focal_point)
    commitments.mark_done(done, egypt_focal_point, access, "Done.")
    commitments.drop(dropped, secretariat_officer, access_for(secretariat_officer), "Overtaken by the new law.")
    for commitment in (done, dropped):
        with pytest.raises(commitments.WrongState):
            commitments.mark_done(commitment, egypt_focal_point, access, "Again.")
    assert Commitment.objects.get(pk=done.pk).done_note == "Done."


def test_it_stores_evidence_under_the_rules_of_report_evidence(secretariat_officer, egypt_focal_point, settings):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    access = access_for(egypt_focal_point)
    with pytest.raises(ValidationError) as refused:
        commitments.mark_done(commitment, egypt_focal_point, access, "Signed.", files=[pdf(), fake_pdf()])
    assert "evidence" in refused.value.message_dict
    assert not Evidence.objects.exists() and Commitment.objects.get().state == "open"
    settings.EVIDENCE_MAX_FILES_PER_REPORT = 1
    with pytest.raises(ValidationError, match="A commitment holds at most 1 evidence file"):
        commitments.mark_done(commitment, egypt_focal_point, access, "Signed.", files=[pdf(), pdf("b.pdf")])
    commitments.mark_done(commitment, egypt_focal_point, access, "Signed.", files=[pdf("protocol.pdf")])
    stored = Evidence.objects.get()
    assert (stored.commitment_id, stored.report_id, stored.original_name) == (commitment.pk, None, "protocol.pdf")


def test_it_counts_commitment_evidence_in_the_states_quota(secretariat_officer, egypt_focal_point, settings):
    first, second = agree(item_of("EG"), secretariat_officer, promise(), promise())
    access = access_for(egypt_focal_point)
    settings.EVIDENCE_MAX_BYTES_PER_STATE = 1500
    commitments.mark_done(first, egypt_focal_point, access, "Signed.", files=[pdf(size=1000)])
    with pytest.raises(ValidationError, match="The evidence files of"):
        commitments.mark_done(second, egypt_focal_point, access, "Signed.", files=[pdf(size=1000)])


def test_it_lets_whoever_sees_the_item_download_commitment_evidence(
    secretariat_officer, egypt_focal_point, jordan_focal_point
):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    commitments.mark_done(commitment, egypt_focal_point, access_for(egypt_focal_point), "Signed.", files=[pdf()])
    evidence = Evidence.objects.select_related("report", "commitment").get()
    assert may_download(evidence, access_for(egypt_focal_point), egypt_focal_point)
    assert may_download(evidence, access_for(secretariat_officer), secretariat_officer)
    assert not may_download(evidence, access_for(jordan_focal_point), jordan_focal_point)


# --- Confirming, reopening, dropping ----------------------------------------------------------------------


def test_it_lets_the_secretariat_confirm_a_done_commitment_once(secretariat_officer, egypt_focal_point):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    officer = access_for(secretariat_officer)
    with pytest.raises(commitments.WrongState):
        commitments.confirm(commitment, secretariat_officer, officer)
    commitments.mark_done(commitment, egypt_focal_point, access_for(egypt_focal_point), "Signed.")
    with pytest.raises(PermissionDenied):
        commitments.confirm(commitment, egypt_focal_point, access_for(egypt_focal_point))
    confirmed = commitments.confirm(commitment, secretariat_officer, officer)
    assert confirmed.confirmed_by == secretariat_officer and confirmed.confirmed_at is not None
    with pytest.raises(commitments.WrongState):
        commitments.confirm(commitment, secretariat_officer, officer)


def test_it_reopens_a_done_commitment_with_a_reason_kept_in_the_history(secretariat_officer, egypt_focal_point):
    item = item_of("EG")
    [commitment] = agree(item, secretariat_officer, promise(days=15))
    commitments.mark_done(commitment, egypt_focal_point, access_for(egypt_focal_point), "Signed.")
    officer = access_for(secretariat_officer)
    commitments.confirm(commitment, secretariat_officer, officer)
    with pytest.raises(ValidationError) as refused:
        commitments.reopen(commitment, secretariat_officer, officer, "")
    assert "reason" in refused.value.message_dict
    reopened = commitments.reopen(commitment, secretariat_officer, officer, "Only a draft was signed.")
    assert (reopened.state, reopened.done_at, reopened.confirmed_at) == ("open", None, None)
    assert reopened.reopened_reason == "Only a draft was signed." and reopened.done_note == "Signed."
    assert due_of(item) == days(15)
    latest, before = reopened.history.all()[:2]
    assert latest.history_change_reason == "reopened" and latest.reopened_reason == "Only a draft was signed."
    assert before.confirmed_by_id == secretariat_officer.pk
    again = commitments.mark_done(commitment, egypt_focal_point, access_for(egypt_focal_point), "Final text signed.")
    assert again.reopened_reason == "" and again.history.count() == 5


def test_it_refuses_to_reopen_what_is_not_done(secretariat_officer):
    [commitment] = agree(item_of("EG"), secretariat_officer)
    with pytest.raises(commitments.WrongState):
        commitments.reopen(commitment, secretariat_officer, access_for(secretariat_officer), "Why not.")


def test_it_drops_an_open_commitment_with_a_reason(secretariat_officer, egypt_focal_point):
    item = item_of("EG")
    [commitment] = agree(item, secretariat_officer)
    officer = access_for(secretariat_officer)
    with pytest.raises(PermissionDenied):
        commitments.drop(commitment, egypt_focal_point, access_for(egypt_focal_point), "No longer needed.")
    with pytest.raises(ValidationError):
        commitments.drop(commitment, secretariat_officer, officer, "   ")
    dropped = commitments.drop(commitment, secretariat_officer, officer, "The law changed.")
    assert (dropped.state, dropped.dropped_reason) == ("dropped", "The law changed.")
    assert due_of(item) is None
    with pytest.raises(commitments.WrongState):
        commitments.drop(commitment, secretariat_officer, officer, "Again.")


# --- Late: derived, and a stalled reason of the item ------------------------------------------------------


def test_it_derives_late_and_makes_the_item_stalled_until_done(secretariat_officer, egypt_focal_point):
    item = item_of("EG")
    [commitment] = agree(item, secretariat_officer, promise(days=10))
    on_time, late = datetime.now(UTC) + timedelta(days=10), datetime.now(UTC) + timedelta(days=12)
    with time_machine.travel(on_time, tick=False):
        assert not Commitment.objects.get().is_late()
        assert StalledReason.LATE_COMMITMENT not in stalled_reasons_of(Implementation.objects.get(pk=item.pk))
    with time_machine.travel(late, tick=False):
        assert Commitment.objects.get().is_late()
        annotated = commitments.with_lateness(Commitment.objects.all()).get()
        assert annotated.late is True
        assert StalledReason.LATE_COMMITMENT in stalled_reasons_of(Implementation.objects.get(pk=item.pk))
        commitments.mark_done(commitment, egypt_focal_point, access_for(egypt_focal_point), "Done, late.")
        assert StalledReason.LATE_COMMITMENT not in stalled_reasons_of(Implementation.objects.get(pk=item.pk))


def test_it_touches_the_item_only_when_its_earliest_due_date_changes(secretariat_officer):
    item = item_of("EG")
    agree(item, secretariat_officer, promise(days=10))
    stamp = Implementation.objects.get(pk=item.pk).updated_at
    history = item.history.count()
    assert not commitments.refresh_open_commitment_due(item.pk, "nothing changed")
    assert Implementation.objects.get(pk=item.pk).updated_at == stamp and item.history.count() == history
    Implementation.objects.filter(pk=item.pk).update(open_commitment_due=None)  # as if it had drifted
    assert commitments.refresh_open_commitment_due(item.pk, "repair")
    assert due_of(item) == days(10) and item.history.count() == history + 1


# --- Who sees which commitments ---------------------------------------------------------------------------


def test_it_shows_commitments_within_the_scope_of_the_items(secretariat_officer, egypt_focal_point, reviewer):
    agree(item_of("EG"), secretariat_officer)
    agree(item_of("JO"), secretariat_officer)
    egypt = access_for(egypt_focal_point)
    assert {c.implementation.member_state.iso_code for c in commitments.visible_commitments(egypt)} == {"EG"}
    assert commitments.visible_commitments(access_for(reviewer)).count() == 2
    Recommendation.objects.filter(reference="R2").update(is_public=False)
    jordan = frozenset({(None, item_of("JO").member_state_id)})
    assert commitments.visible_commitments(Access(scopes=jordan)).count() == 0
    assert commitments.visible_commitments(Access(scopes=jordan, sees_confidential=True)).count() == 1


def test_it_lists_open_commitments_earliest_first(secretariat_officer, egypt_focal_point):
    item = item_of("EG")
    later, sooner, done = agree(item, secretariat_officer, promise(days=50), promise(days=5), promise(days=1))
    commitments.mark_done(done, egypt_focal_point, access_for(egypt_focal_point), "Done.")
    listed = list(commitments.open_commitments(access_for(egypt_focal_point)))
    assert listed == [sooner, later]


# --- Commitments from the last review ---------------------------------------------------------------------


@pytest.fixture
def last_review(reference, secretariat_officer, egypt_focal_point):
    """A closed review with Egypt: 1 done, 1 late, 1 open, 1 dropped; Jordan: 1 late. Then a newer open cycle."""
    cycle = review_cycle(reference, "2026-1")
    officer = access_for(secretariat_officer)
    done, late, _open, dropped = agree(
        item_of("EG", "R1"), secretariat_officer, promise(days=5), promise(days=3), promise(days=90), promise(days=9)
    )
    agree(item_of("JO", "R3"), secretariat_officer, promise(days=4))
    commitments.mark_done(done, egypt_focal_point, access_for(egypt_focal_point), "Done.")
    commitments.drop(dropped, secretariat_officer, officer, "Overtaken.")
    close(cycle)
    review_cycle(reference, "2026-2", state="open", start=timezone.localdate())
    return cycle


def test_it_summarises_the_commitments_of_the_last_review_late_first(last_review, reference, secretariat_officer):
    agree(item_of("EG", "R5"), secretariat_officer, promise(days=1))  # recorded in no closed review: not counted
    with time_machine.travel(datetime.now(UTC) + timedelta(days=7), tick=False):
        summary = commitments.commitment_summary(reference)
    assert summary.cycle_id == last_review.pk and summary.cycle_name == "Cycle 2026-1"
    assert summary.totals.as_record() == {"done": 1, "open": 1, "late": 2, "dropped": 1}
    assert [(row.iso_code, row.late, row.open, row.done) for row in summary.states] == [
        ("EG", 1, 1, 1),
        ("JO", 1, 0, 0),
    ]
    assert [(row.reference, row.total) for row in summary.recommendations] == [("R1", 4), ("R3", 1)]


def test_it_summarises_a_given_cycle_or_the_one_before(last_review, reference):
    assert commitments.commitment_summary(reference, cycle=last_review).totals.total == 5
    assert not commitments.commitment_summary(reference, before=last_review)
    newer = review_cycle(reference, "2026-3", state="closed")
    assert commitments.commitment_summary(reference).cycle_id == newer.pk
    assert commitments.commitment_summary(reference, before=newer).cycle_id == last_review.pk


def test_it_narrows_the_summary_to_some_items(last_review, reference):
    egypt = Implementation.objects.filter(member_state__iso_code="EG")
    summary = commitments.commitment_summary(reference, items=egypt)
    assert [row.iso_code for row in summary.states] == ["EG"] and summary.totals.total == 4


def test_it_counts_in_a_constant_number_of_queries(
    last_review, reference, secretariat_officer, django_assert_num_queries
):
    with django_assert_num_queries(3):
        commitments.commitment_summary(reference)
    for iso_code in ("MA", "TN", "IQ"):
        agree(item_of(iso_code, "R4"), secretariat_officer, promise(), cycle=last_review)
    with django_assert_num_queries(3):
        assert commitments.commitment_summary(reference).totals.total == 8


def test_it_freezes_the_summary_as_plain_json(last_review, reference):
    summary = commitments.commitment_summary(reference)
    record = json.loads(json.dumps(summary.as_record()))
    assert commitments.CommitmentSummary.from_record(record) == summary


def test_it_says_nothing_when_no_review_has_closed(reference):
    summary = commitments.commitment_summary(reference)
    assert not summary and summary.cycle_id is None and summary.states == []


# --- Roles ------------------------------------------------------------------------------------------------


def test_it_lets_the_secretariat_change_and_reviewers_view_commitments(reference):
    secretariat = set(Group.objects.get(name=SECRETARIAT_GROUP).permissions.values_list("codename", flat=True))
    reviewer = set(Group.objects.get(name=REVIEWER_GROUP).permissions.values_list("codename", flat=True))
    assert {"view_commitment", "change_commitment"} <= secretariat
    assert "view_commitment" in reviewer and "change_commitment" not in reviewer
