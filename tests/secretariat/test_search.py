"""Searching the admin's list of items: the same words find the same items as Django's own search did (a
recommendation's reference or text, a state's name in either language or its code; every word must match), with the
small tables searched first so that a million items are not joined to their texts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tracker.core.models import Implementation

pytestmark = pytest.mark.django_db
LIST = "/admin/tracker/implementation/"


def found(client, words):
    response = client.get(LIST, {"q": words})
    assert response.status_code == 200
    return {(i.recommendation.reference, i.member_state.iso_code) for i in response.context["cl"].result_list}


@pytest.fixture
def officer(client, secretariat_officer):
    client.force_login(secretariat_officer)
    return client


def test_it_finds_a_states_items_by_its_name_in_either_language_or_its_code(officer):
    egypt = {(i.recommendation.reference, "EG") for i in Implementation.objects.filter(member_state__iso_code="EG")}
    assert len(egypt) > 3 and found(officer, "Egypt") == egypt
    assert found(officer, "مصر") == egypt
    assert found(officer, "eg") >= egypt


def test_it_needs_every_word_to_match_somewhere(officer):
    assert found(officer, "R1 Jordan") == {("R1", "JO")}
    assert found(officer, "R1 Atlantis") == set()


def test_it_finds_items_by_words_of_their_recommendations_text(officer):
    item = Implementation.objects.select_related("recommendation").filter(member_state__iso_code="JO").first()
    word = max(item.recommendation.text_en.split(), key=len).strip(".,;:")
    assert (item.recommendation.reference, "JO") in found(officer, f"{word} Jordan")


def test_it_keeps_a_quoted_phrase_whole(officer):
    item = Implementation.objects.select_related("recommendation").first()
    phrase = " ".join(item.recommendation.text_en.split()[:3])
    assert (item.recommendation.reference, item.member_state.iso_code) in found(officer, f'"{phrase}"')
    assert found(officer, '"Jordan R1"') == set()


def test_it_never_joins_the_items_to_the_texts_it_searches(officer):
    with CaptureQueriesContext(connection) as queries:
        assert found(officer, "Jordan")
    item_queries = [q["sql"] for q in queries.captured_queries if 'FROM "tracker_implementation"' in q["sql"]]
    assert item_queries and not [sql for sql in item_queries if 'UPPER("tracker_memberstate"."name_en"' in sql]


def test_it_finds_the_same_items_when_a_word_matches_more_rows_than_it_lists(officer, monkeypatch):
    from tracker.secretariat import search

    listed = found(officer, "R1")
    monkeypatch.setattr(search, "LISTED_IDS", 0)  # every match read through a subquery instead of a list of ids
    assert found(officer, "R1") == listed and len(listed) == 22


def test_it_counts_a_states_items_without_the_texts_of_the_recommendations(officer):
    """A word that names only a state: the items are counted by their state's id alone, so PostgreSQL can count
    them from an index (an OR with an empty subquery of recommendations made it read every matching row)."""
    with CaptureQueriesContext(connection) as queries:
        assert len(found(officer, "Jordan")) == 7
    (count,) = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT COUNT(*)")]
    assert "tracker_recommendation" not in count and '"member_state_id" IN (' in count
