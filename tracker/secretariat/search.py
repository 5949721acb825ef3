"""Searching a change list of a million items by the texts of what they point to (a recommendation, a state).

Django's admin joins the related tables and tests every searched column on every item: at a million items a search
took about a second, most of it counting the matches. Here each word is looked up in the small tables first, and the
items are read through their own index by the ids found (`InIdsOf`). The words mean what they mean in
Django's admin: every word must match (in any of the fields), quoted phrases stay one word."""

from django.db.models import BooleanField, F, Func, Q, Subquery
from django.utils.text import smart_split, unescape_string_literal


def search_words(search_term):
    """The words of a search as the admin splits them: on spaces, a quoted phrase kept whole."""
    words = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        words.append(bit)
    return words


def any_field_contains(fields, word):
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__icontains": word})
    return condition


class InIdsOf(Func):
    """`column IN (subquery)`; on PostgreSQL `column = ANY(ARRAY(subquery))`, so that the ids are found first and the
    items read through the column's index (a bitmap scan of the matches) instead of testing every item against a
    hashed subquery (a pass over all of them)."""

    output_field = BooleanField()

    def __init__(self, column, ids):
        super().__init__(F(column), Subquery(ids))

    def as_sql(self, compiler, connection, **extra):
        column, ids = (compiler.compile(expression) for expression in self.source_expressions)
        return f"{column[0]} IN {ids[0]}", (*column[1], *ids[1])

    def as_postgresql(self, compiler, connection, **extra):
        column, ids = (compiler.compile(expression) for expression in self.source_expressions)
        return f"{column[0]} = ANY(ARRAY{ids[0]})", (*column[1], *ids[1])


class RelatedTextSearchMixin:
    """`related_search = {"recommendation": (Recommendation, ["reference", ...]), ...}`: each word must match one of
    the listed fields of one of the related rows. `search_fields` still lists the fields, so the admin shows its
    search box and says what it searches."""

    related_search: dict = {}

    def get_search_results(self, request, queryset, search_term):
        for word in search_words(search_term):
            matches = Q(pk__in=[])  # a word that matches nothing finds nothing
            for relation, (model, fields) in self.related_search.items():
                matches |= related_ids_condition(relation, model.objects.filter(any_field_contains(fields, word)))
            queryset = queryset.filter(matches)
        return queryset, False


#: Ids listed in the query when a word matches at most this many related rows (else a subquery, `InIdsOf`).
LISTED_IDS = 1000


def related_ids_condition(relation, found):
    """The items pointing to a row of `found`. The ids are read first (one query): a relation that matches nothing
    drops out of the condition, and a short list lets PostgreSQL count the items from an index alone, where an
    OR of two subqueries made it fetch every matching row (135 ms for a state's 45,000 items)."""
    ids = list(found.order_by().values_list("pk", flat=True)[: LISTED_IDS + 1])
    if len(ids) > LISTED_IDS:
        return Q(InIdsOf(f"{relation}_id", found.order_by().values("pk")))
    return Q(**{f"{relation}_id__in": ids}) if ids else Q(pk__in=[])
