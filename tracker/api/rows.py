"""Representations built from `.values()` rows: the read side of every resource.

Lists are the hot path of partner syncs, so rows are read with `.values()` (no model instances) and
related many-to-many codes with one query per relation for the whole page: the number of queries does
not depend on the page size. The serializers in `serializers.py` describe the same shapes for the schema.
"""

import hashlib
import json
from collections import defaultdict, namedtuple

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import get_language

from tracker.core.models import (
    Body,
    Evidence,
    Meeting,
    Recommendation,
)
from tracker.core.querysets import ANNOTATION_PREFIX, StalledReason, closed_windows


def digest_etag(row, *keys):
    """A strong ETag from the fields that change when the item changes."""
    payload = json.dumps([row[key] for key in keys], cls=DjangoJSONEncoder)
    return '"' + hashlib.sha256(payload.encode()).hexdigest()[:32] + '"'


def current_language():
    return "ar" if (get_language() or "en").startswith("ar") else "en"


def add_translations(row, names, lang):
    """`name` in the chosen language (falling back to the other), next to `name_en` and `name_ar`."""
    other = "en" if lang == "ar" else "ar"
    for name in names:
        row[name] = row[f"{name}_{lang}"] or row[f"{name}_{other}"]
    return row


def _codes_by_owner(through, owner, target_lookup, owner_ids):
    grouped = defaultdict(list)
    rows = through.objects.filter(**{f"{owner}__in": owner_ids}).values_list(owner, target_lookup)
    for owner_id, code in rows.order_by(target_lookup):
        grouped[owner_id].append(code)
    return grouped


def _target_keys_by_recommendation(ids):
    """The keys (sdg-10.7) of each recommendation's framework targets, in the taxonomy's order."""
    links = Recommendation.framework_targets.through.objects.filter(recommendation_id__in=ids)
    rows = links.values_list("recommendation_id", "frameworktarget__framework__code", "frameworktarget__code")
    grouped = defaultdict(list)
    order = ("frameworktarget__framework__position", "frameworktarget__framework__code", "frameworktarget__position")
    for owner_id, framework, code in rows.order_by(*order, "frameworktarget__code"):
        grouped[owner_id].append(f"{framework}-{code}")
    return grouped


class Shape:
    """Which columns to read, and how to turn one row into the answer."""

    fields = ()
    rename = {}  # values() lookup -> output key
    translated = ()

    def __init__(self, client=None):
        self.client = client
        self.lang = current_language()

    def extra(self, rows):
        """Per-page additions (many-to-many codes), in a constant number of queries."""

    def finish(self, row):
        return row

    def render(self, rows):
        rows = [self._rename(dict(row)) for row in rows]
        self.extra(rows)
        return [self.finish(add_translations(row, self.translated, self.lang)) for row in rows]

    def _rename(self, row):
        for lookup, key in self.rename.items():
            row[key] = row.pop(lookup)
        return row


class BodyShape(Shape):
    fields = ("id", "code", "acronym_en", "acronym_ar", "name_en", "name_ar")
    translated = ("acronym", "name")

    def extra(self, rows):
        ids = [r["id"] for r in rows]
        states = _codes_by_owner(Body.member_states.through, "body_id", "memberstate__iso_code", ids)
        for row in rows:
            row["member_states"] = states.get(row["id"], [])


class MemberStateShape(Shape):
    fields = ("id", "iso_code", "name_en", "name_ar")
    translated = ("name",)


class ThemeShape(Shape):
    fields = ("id", "code", "name_en", "name_ar", "position")
    translated = ("name",)


class MeetingShape(Shape):
    fields = (
        "id",
        "code",
        "body_id",
        "body__code",
        "kind",
        "title_en",
        "title_ar",
        "start_date",
        "end_date",
        "venue_en",
        "venue_ar",
    )
    rename = {"body_id": "body", "body__code": "body_code"}
    translated = ("title", "venue")

    def extra(self, rows):
        organisers = _codes_by_owner(
            Meeting.organisers.through, "meeting_id", "organisation__code", [r["id"] for r in rows]
        )
        for row in rows:
            row["organisers"] = organisers.get(row["id"], [])


class RecommendationShape(Shape):
    fields = (
        "id",
        "meeting_id",
        "meeting__code",
        "meeting__body__code",
        "reference",
        "position",
        "text_en",
        "text_ar",
        "arabic_text_status",
        "target_date",
        "is_public",
        "is_archived",
        "is_sample",
        "created_at",
        "updated_at",
    )
    rename = {"meeting_id": "meeting", "meeting__code": "meeting_code", "meeting__body__code": "body_code"}
    translated = ("text",)

    def extra(self, rows):
        ids = [r["id"] for r in rows]
        themes = _codes_by_owner(Recommendation.themes.through, "recommendation_id", "thematicarea__code", ids)
        states = _codes_by_owner(Recommendation.applies_to.through, "recommendation_id", "memberstate__iso_code", ids)
        targets = _target_keys_by_recommendation(ids)
        for row in rows:
            row["themes"] = themes.get(row["id"], [])
            row["framework_targets"] = targets.get(row["id"], [])
            row["applies_to"] = states.get(row["id"], [])
            row["etag"] = digest_etag(row, "id", "updated_at")


STALLED_COLUMNS = [(f"{ANNOTATION_PREFIX}{reason.value}", reason.value) for reason in StalledReason]


class ImplementationShape(Shape):
    """Rows are named tuples (`.values_list(*fields, named=True)`, or `ImplementationRow` on the compiled path): read by
    name, one dict built per item. A new field: add its column to `fields` and its key to `item`."""

    windows = None  # when the closed cycles began, per body (set from the stalled context the page used)
    fields = (
        "id",
        "recommendation_id",
        "recommendation__reference",
        "recommendation__meeting__code",
        "recommendation__meeting__body__code",
        "member_state__iso_code",
        "applies",
        "status",
        "progress",
        "last_reported_at",
        "last_report_cycle_id",
        "has_open_obstacle",
        "status_changed_at",
        "recommendation__meeting__body_id",
        "version",
        "recommendation__is_archived",
        "is_stalled",
        *(column for column, _ in STALLED_COLUMNS),
        "created_at",
        "updated_at",
    )

    def render(self, rows):
        # Hand-written: this is the list partners sync most, measured by `make bench-api`.
        windows = self.windows if self.windows is not None else closed_windows()
        items = [self.item(row, windows) for row in rows]
        for item in items:
            item["etag"] = content_etag(item)
        return items

    @staticmethod
    def item(row, windows):
        return {
            "id": row.id,
            "recommendation": row.recommendation_id,
            "reference": row.recommendation__reference,
            "meeting_code": row.recommendation__meeting__code,
            "body_code": row.recommendation__meeting__body__code,
            "member_state": row.member_state__iso_code,
            "applies": row.applies,
            "is_archived": row.recommendation__is_archived or not row.applies,
            "status": row.status,
            "progress": row.progress,
            "last_reported_at": row.last_reported_at,
            "last_report_cycle": row.last_report_cycle_id,
            "has_open_obstacle": row.has_open_obstacle,
            "unchanged_cycles": unchanged_count(windows, row),
            "is_stalled": bool(row.is_stalled),
            "stalled_reasons": [reason for index, reason in STALLED_INDEXES if row[index]],
            "version": row.version,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }


STALLED_INDEXES = [(ImplementationShape.fields.index(column), reason) for column, reason in STALLED_COLUMNS]
# The compiled path's rows (tracker.api.views.ImplementationPages), read as `.values_list(named=True)` rows are.
ImplementationRow = namedtuple("ImplementationRow", ImplementationShape.fields)


def content_etag(item):
    """A strong ETag of an item as rendered: it moves with every field (for an implementation, the stalled reasons and
    the count of unchanged cycles too, which follow the body's cycles rather than the item's own row)."""
    options = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
    canonical = orjson.dumps(item, default=str, option=options)  # the JSON the client gets, keys sorted
    return '"' + hashlib.blake2b(canonical, digest_size=12).hexdigest() + '"'


def unchanged_count(windows, row):
    """Over how many closed cycles of its body the item's status and progress stayed as they are."""
    changed = row.status_changed_at
    return sum(1 for start in windows.get(row.recommendation__meeting__body_id, ()) if changed < start)


class ProgressReportShape(Shape):
    fields = (
        "id",
        "implementation_id",
        "implementation__member_state__iso_code",
        "implementation__recommendation_id",
        "cycle_id",
        "status",
        "progress",
        "narrative",
        "obstacles",
        "support_needed",
        "state",
        "submitted_at",
        "sent_for_validation_at",
        "is_archived",
        "created_at",
        "updated_at",
        "author__first_name",
        "author__last_name",
        "author__username",
        "author__email",
    )
    rename = {
        "implementation_id": "implementation",
        "implementation__member_state__iso_code": "member_state",
        "implementation__recommendation_id": "recommendation",
        "cycle_id": "cycle",
    }

    def extra(self, rows):
        evidence = defaultdict(list)
        files = Evidence.objects.filter(report_id__in=[r["id"] for r in rows]).values(
            "id", "report_id", "original_name", "content_type", "size", "sha256", "created_at"
        )
        for item in files:
            evidence[item.pop("report_id")].append(item)
        for row in rows:
            row["evidence"] = evidence.get(row["id"], [])

    def finish(self, row):
        first, last, username, email = (
            row.pop(key) for key in ("author__first_name", "author__last_name", "author__username", "author__email")
        )
        # Who wrote a report is focal point contact data: secretariat-level clients only.
        if self.client is not None and self.client.sees_contacts:
            row["author"] = {"name": f"{first} {last}".strip() or username, "email": email}
        else:
            row["author"] = None
        return row


class ReviewCycleShape(Shape):
    fields = (
        "id",
        "body_id",
        "body__code",
        "name_en",
        "name_ar",
        "period_start",
        "period_end",
        "report_deadline",
        "review_meeting_date",
        "state",
        "opened_at",
        "closed_at",
    )
    rename = {"body_id": "body", "body__code": "body_code"}
    translated = ("name",)

    def finish(self, row):
        row["etag"] = digest_etag(
            row,
            "id",
            "body",
            "name_en",
            "name_ar",
            "period_start",
            "period_end",
            "report_deadline",
            "review_meeting_date",
            "state",
            "opened_at",
            "closed_at",
        )
        return row


class ReviewOutcomeShape(Shape):
    fields = (
        "id",
        "implementation_id",
        "implementation__member_state__iso_code",
        "cycle_id",
        "obstacle_category",
        "obstacle",
        "solution",
        "follow_up_by",
        "follow_up_due",
        "created_at",
        "updated_at",
    )
    rename = {
        "implementation_id": "implementation",
        "implementation__member_state__iso_code": "member_state",
        "cycle_id": "cycle",
    }


class FocalPointShape(Shape):
    fields = (
        "id",
        "member_state__iso_code",
        "body__code",
        "role",
        "user__first_name",
        "user__last_name",
        "user__username",
        "user__email",
        "phone",
        "preferred_language",
        "start_date",
        "end_date",
    )
    rename = {"member_state__iso_code": "member_state", "body__code": "body_code"}

    def finish(self, row):
        first, last, username = row.pop("user__first_name"), row.pop("user__last_name"), row.pop("user__username")
        row["name"] = f"{first} {last}".strip() or username
        row["email"] = row.pop("user__email")
        row["is_active"] = row["end_date"] is None
        return row
