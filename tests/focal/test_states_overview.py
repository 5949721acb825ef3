"""The per-state overview the secretariat and reviewers land on ("/"): each state's followed-up and stalled items,
counted in one aggregate pass, the same numbers as the rules' querysets give state by state."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from tracker.core.models import Implementation, Recommendation

from .helpers import item_of


@pytest.fixture(autouse=True)
def fresh_cache():
    """The overview is cached for a minute; a test's answer must not be another test's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mixed_items(reference):
    """Egypt: one item stalled by an obstacle, one settled with an obstacle (not stalled), one that no longer
    applies; a recommendation archived (its items leave every count); Jordan untouched."""
    Implementation.objects.update(last_reported_at=timezone.now(), status_changed_at=timezone.now())
    Implementation.objects.filter(pk=item_of("EG", "R1").pk).update(has_open_obstacle=True)
    Implementation.objects.filter(pk=item_of("EG", "R2").pk).update(has_open_obstacle=True, status="implemented")
    Implementation.objects.filter(pk=item_of("EG", "R3").pk).update(applies=False)
    Recommendation.objects.filter(reference="R4").update(is_archived=True)


def expected(iso_code):
    items = Implementation.objects.filter(member_state__iso_code=iso_code)
    return items.current().count(), items.stalled().count()


@pytest.mark.django_db
def test_it_counts_each_states_items_and_stalled_items_as_the_rules_do(client, secretariat_officer, mixed_items):
    client.force_login(secretariat_officer)
    states = {state.iso_code: (state.items, state.stalled) for state in client.get("/").context["states"]}
    assert len(states) == 22
    assert states["EG"] == expected("EG") and states["JO"] == expected("JO")
    assert states["EG"][0] == states["JO"][0] - 1 and states["EG"][1] >= 1


@pytest.mark.django_db
def test_a_reviewer_sees_every_state_by_name_with_the_same_counts(client, reviewer, mixed_items):
    client.force_login(reviewer)
    states = list(client.get("/", HTTP_ACCEPT_LANGUAGE="en").context["states"])
    assert [s.name_en for s in states] == sorted(s.name_en for s in states)
    assert all((s.items, s.stalled) == expected(s.iso_code) for s in states)


@pytest.mark.django_db
def test_a_change_to_an_item_shows_at_once_although_the_counts_are_cached(client, secretariat_officer, mixed_items):
    client.force_login(secretariat_officer)
    before = {s.iso_code: s.stalled for s in client.get("/").context["states"]}
    item = item_of("JO", "R1")
    Implementation.objects.filter(pk=item.pk).update(has_open_obstacle=True, updated_at=timezone.now())
    after = {s.iso_code: s.stalled for s in client.get("/").context["states"]}
    assert after["JO"] == before["JO"] + 1 == expected("JO")[1]
