"""with_related: foreign keys of many rows loaded with one query a relation, each related row shared."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tracker.core.models import Implementation, MemberState
from tracker.core.related import with_related

pytestmark = pytest.mark.django_db


def test_it_loads_each_relation_once_and_shares_its_rows(reference):
    items = with_related(Implementation.objects.order_by("pk"), "recommendation", "member_state")
    with CaptureQueriesContext(connection) as queries:
        states = {id(item.member_state) for item in items}
        recommendations = {id(item.recommendation) for item in items}
    assert len(queries) == 0  # cached on every row: nothing read again
    assert len(states) == len({item.member_state_id for item in items}) > 1
    assert len(recommendations) == len({item.recommendation_id for item in items}) > 1
    assert all(item.member_state.pk == item.member_state_id for item in items)


def test_it_reads_one_query_a_relation_and_nothing_for_no_rows(reference):
    with CaptureQueriesContext(connection) as queries:
        with_related(Implementation.objects.all(), "recommendation", "member_state")
    assert len(queries) == 3  # the rows, then one `pk IN` a relation
    with CaptureQueriesContext(connection) as queries:
        assert with_related(Implementation.objects.none(), "member_state") == []
    assert len(queries) == 0


def test_it_shares_the_instances_the_caller_already_holds(reference):
    held = {state.pk: state for state in MemberState.objects.all()}
    with CaptureQueriesContext(connection) as queries:
        items = with_related(Implementation.objects.all(), "member_state", known={"member_state": held})
    assert len(queries) == 1  # the rows only: every state was held
    assert all(item.member_state is held[item.member_state_id] for item in items)
    with CaptureQueriesContext(connection) as queries:
        with_related(Implementation.objects.all(), "member_state", known={"member_state": {}})
    assert len(queries) == 2  # nothing held: read as before
