"""The one rule of what is public (tracker.core.publication) and the agreement's own rules."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.public.conftest import CONFIDENTIAL_NARRATIVE, EGYPT_NARRATIVE, IRAQ_NARRATIVE, JORDAN_NARRATIVE, agree
from tracker.core import publication
from tracker.core.models import Implementation, MemberState, PublicationConsent, Recommendation

pytestmark = pytest.mark.django_db


def published_pairs():
    items = publication.published_implementations().select_related("recommendation", "member_state")
    return {(item.recommendation.reference, item.member_state.iso_code) for item in items}


def test_it_publishes_public_recommendations_of_agreeing_states_only(published):
    assert published_pairs() == {("R1", "EG"), ("R2", "EG"), ("R1", "JO"), ("R2", "JO")}


def test_it_publishes_narratives_only_where_the_state_agreed_to(published):
    narratives = {
        item.member_state.iso_code: item.published_narrative
        for item in publication.published_implementations().filter(recommendation__reference="R1")
    }
    assert narratives == {"EG": EGYPT_NARRATIVE, "JO": ""}
    every_text = " ".join(publication.published_implementations().values_list("published_narrative", flat=True))
    for secret in (JORDAN_NARRATIVE, IRAQ_NARRATIVE, CONFIDENTIAL_NARRATIVE):
        assert secret not in every_text


def test_it_removes_a_state_the_moment_it_withdraws(published):
    jordan = PublicationConsent.objects.get(member_state__iso_code="JO")
    jordan.publishes_progress = False
    jordan.save()
    assert ("R1", "JO") not in published_pairs()
    assert publication.published_states().filter(iso_code="JO").count() == 0


def test_it_never_publishes_archived_sample_or_inapplicable_items(published):
    Recommendation.objects.filter(reference="R2").update(is_archived=True)
    Implementation.objects.filter(recommendation__reference="R1", member_state__iso_code="JO").update(applies=False)
    assert published_pairs() == {("R1", "EG")}


def test_it_counts_only_what_is_published(published):
    totals = publication.tally(publication.published_implementations())
    assert (totals.items, totals.states_reporting, totals.implemented, totals.reported) == (4, 2, 1, 3)
    assert totals.share_implemented == 25  # Iraq's implemented R1 is not counted


def test_it_changes_the_epoch_when_an_agreement_or_a_recommendation_changes(published):
    before = publication.publication_epoch()
    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC)):
        Recommendation.objects.get(reference="R1").save()
    assert publication.publication_epoch() != before
    middle = publication.publication_epoch()
    with time_machine.travel(dt.datetime(2030, 1, 2, tzinfo=dt.UTC)):
        PublicationConsent.objects.get(member_state__iso_code="EG").save()
    assert publication.publication_epoch() != middle


def test_it_requires_a_date_and_a_name_for_an_agreement(reference):
    consent = PublicationConsent(body=reference, member_state=MemberState.objects.get(iso_code="EG"))
    consent.publishes_progress = True
    with pytest.raises(ValidationError) as error:
        consent.full_clean()
    assert {"agreed_on", "agreed_by"} <= error.value.message_dict.keys()
    with pytest.raises(IntegrityError), transaction.atomic():
        consent.save()


def test_it_refuses_narratives_without_progress(reference):
    consent = PublicationConsent(
        body=reference, member_state=MemberState.objects.get(iso_code="EG"), publishes_narratives=True
    )
    with pytest.raises(ValidationError) as error:
        consent.full_clean()
    assert "publishes_narratives" in error.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        consent.save()


def test_it_refuses_an_agreement_of_a_state_outside_the_body(reference):
    outsider = MemberState.objects.create(iso_code="ZZ", name_en="Elsewhere", name_ar="مكان آخر")
    consent = PublicationConsent(
        body=reference, member_state=outsider, publishes_progress=True, agreed_on=dt.date(2026, 1, 1), agreed_by="X"
    )
    with pytest.raises(ValidationError) as error:
        consent.full_clean()
    assert "member_state" in error.value.message_dict


def test_it_refuses_an_agreement_dated_in_the_future(reference):
    consent = PublicationConsent(
        body=reference,
        member_state=MemberState.objects.get(iso_code="EG"),
        publishes_progress=True,
        agreed_on=dt.date.today() + dt.timedelta(days=3),
        agreed_by="Ministry",
    )
    with pytest.raises(ValidationError) as error:
        consent.full_clean()
    assert "agreed_on" in error.value.message_dict


def test_it_allows_one_agreement_per_state_and_body(reference):
    agree(reference, "EG")
    with pytest.raises(IntegrityError), transaction.atomic():
        agree(reference, "EG")
