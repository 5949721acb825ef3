"""Serializers: the documented shape of each resource (rows.py builds it) and the write-side validation."""

from collections.abc import Mapping

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracker.core.models import (
    REPORT_TEXT_MAX_LENGTH,
    FrameworkTarget,
    MemberState,
    ProgressReport,
    Recommendation,
    ReviewCycle,
    Status,
    ThematicArea,
)
from tracker.core.querysets import StalledReason


def translated(name, max_length=None, help_text=""):
    """The three fields of a bilingual value: chosen language, English, Arabic."""
    return {
        name: serializers.CharField(help_text=help_text or "In the language chosen by Accept-Language or ?lang=."),
        f"{name}_en": serializers.CharField(),
        f"{name}_ar": serializers.CharField(),
    }


def _with(fields):
    return type("Fields", (serializers.Serializer,), fields)


class BodySerializer(_with({**translated("acronym"), **translated("name")})):
    id = serializers.IntegerField()
    code = serializers.CharField()
    member_states = serializers.ListField(child=serializers.CharField(), help_text="ISO codes.")


class MemberStateSerializer(_with(translated("name"))):
    id = serializers.IntegerField()
    iso_code = serializers.CharField()


class ThemeSerializer(_with(translated("name"))):
    id = serializers.IntegerField()
    code = serializers.CharField()
    position = serializers.IntegerField()


class MeetingSerializer(_with({**translated("title"), **translated("venue")})):
    id = serializers.IntegerField()
    code = serializers.CharField()
    body = serializers.IntegerField()
    body_code = serializers.CharField()
    kind = serializers.CharField()
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    organisers = serializers.ListField(child=serializers.CharField())


class RecommendationSerializer(_with(translated("text"))):
    id = serializers.IntegerField()
    meeting = serializers.IntegerField()
    meeting_code = serializers.CharField()
    body_code = serializers.CharField()
    reference = serializers.CharField()
    position = serializers.IntegerField()
    arabic_text_status = serializers.ChoiceField(choices=Recommendation.ArabicText.choices)
    themes = serializers.ListField(child=serializers.CharField(), help_text="Theme codes.")
    framework_targets = serializers.ListField(
        child=serializers.CharField(),
        help_text="Keys of the external framework targets it serves (framework code, '-', target code), e.g. sdg-10.7.",
    )
    applies_to = serializers.ListField(
        child=serializers.CharField(), help_text="ISO codes; empty means every member state of the body."
    )
    target_date = serializers.DateField(allow_null=True)
    is_public = serializers.BooleanField()
    is_archived = serializers.BooleanField()
    is_sample = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    etag = serializers.CharField(help_text="The item's ETag: send it in If-Match to change the item.")


class ImplementationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    recommendation = serializers.IntegerField()
    reference = serializers.CharField()
    meeting_code = serializers.CharField()
    body_code = serializers.CharField()
    member_state = serializers.CharField()
    applies = serializers.BooleanField()
    is_archived = serializers.BooleanField(help_text="Recommendation archived, or no longer applies to the state.")
    status = serializers.ChoiceField(choices=Status.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    last_reported_at = serializers.DateTimeField(allow_null=True)
    last_report_cycle = serializers.IntegerField(allow_null=True)
    has_open_obstacle = serializers.BooleanField()
    unchanged_cycles = serializers.IntegerField()
    is_stalled = serializers.BooleanField()
    stalled_reasons = serializers.ListField(child=serializers.ChoiceField(choices=StalledReason.choices))
    version = serializers.IntegerField(help_text="Goes up with every submitted report.")
    etag = serializers.CharField(help_text="The item's ETag: send it in If-Match to change the item.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class EvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    original_name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()


class AuthorSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField()


#: The states a report has in the API (drafts stay with the state): ReportStateEnum in the schema.
REPORT_STATES = [
    (ProgressReport.State.SUBMITTED.value, ProgressReport.State.SUBMITTED.label),
    (ProgressReport.State.AWAITING_VALIDATION.value, ProgressReport.State.AWAITING_VALIDATION.label),
]


class ProgressReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    implementation = serializers.IntegerField()
    recommendation = serializers.IntegerField()
    member_state = serializers.CharField()
    cycle = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=Status.choices)
    progress = serializers.IntegerField()
    narrative = serializers.CharField(allow_blank=True)
    obstacles = serializers.CharField(allow_blank=True)
    support_needed = serializers.CharField(allow_blank=True)
    state = serializers.ChoiceField(
        choices=REPORT_STATES,
        help_text=(
            "submitted: it reached the secretariat. awaiting_validation: the member state requires national "
            "validation; the report counts once the state's validator approves it (only in the answer to a write)."
        ),
    )
    submitted_at = serializers.DateTimeField(allow_null=True)
    sent_for_validation_at = serializers.DateTimeField(allow_null=True)
    is_archived = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    author = AuthorSerializer(allow_null=True, help_text="Secretariat-level clients only; null otherwise.")
    evidence = EvidenceSerializer(many=True)


class ReviewCycleSerializer(_with(translated("name"))):
    id = serializers.IntegerField()
    body = serializers.IntegerField()
    body_code = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    report_deadline = serializers.DateField()
    review_meeting_date = serializers.DateField(allow_null=True)
    state = serializers.ChoiceField(choices=ReviewCycle.State.choices)
    opened_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    etag = serializers.CharField(help_text="The item's ETag: send it in If-Match to change the item.")


class ReviewOutcomeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    implementation = serializers.IntegerField()
    member_state = serializers.CharField()
    cycle = serializers.IntegerField(allow_null=True)
    obstacle_category = serializers.CharField()
    obstacle = serializers.CharField(allow_blank=True)
    solution = serializers.CharField(allow_blank=True)
    follow_up_by = serializers.CharField(allow_blank=True)
    follow_up_due = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FocalPointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    member_state = serializers.CharField()
    body_code = serializers.CharField()
    role = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)
    preferred_language = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    is_active = serializers.BooleanField()


class ErrorSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="about:blank: the title is the HTTP status phrase (RFC 9457).")
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class StaleErrorSerializer(ErrorSerializer):
    current_version = serializers.IntegerField(required=False)
    current = serializers.DictField(required=False, help_text="The item as it is now.")


# --- Writes ---------------------------------------------------------------------------------------


class RefusesUnknownFields:
    """A write names only fields the resource has: any other is refused with a 400 naming it, never ignored
    (a client that sends `version` or `submitted_at` believes it set them)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [_("This field does not exist.")] for name in unknown})
        return super().to_internal_value(data)


class ReportInputSerializer(RefusesUnknownFields, serializers.Serializer):
    """A progress report; the same rules as the focal point form apply (tracker.core.services.submit_report)."""

    status = serializers.ChoiceField(choices=Status.choices)
    progress = serializers.IntegerField(min_value=0, max_value=100)
    narrative = serializers.CharField(required=False, allow_blank=True, default="", max_length=REPORT_TEXT_MAX_LENGTH)
    obstacles = serializers.CharField(required=False, allow_blank=True, default="", max_length=REPORT_TEXT_MAX_LENGTH)
    support_needed = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=REPORT_TEXT_MAX_LENGTH
    )


class CodeRelatedField(serializers.SlugRelatedField):
    """A related object by its code. The value is checked before it is looked up: a NUL character (which
    PostgreSQL refuses) or a value longer than any code is "does not exist", a 400, not a 500."""

    def to_internal_value(self, data):
        if isinstance(data, str) and ("\x00" in data or len(data) > 64):
            self.fail("does_not_exist", slug_name=self.slug_field, value=data[:64])
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "maxLength": 70, "examples": ["sdg-10.7"]})
class FrameworkTargetKeyField(serializers.RelatedField):
    """An external framework target by its key (`sdg-10.7`), checked like a code before it is looked up."""

    default_error_messages = {"does_not_exist": "No framework target has the key {value}."}

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data or len(data) > 70:
            self.fail("does_not_exist", value=str(data)[:70])
        target = self.get_queryset().keyed([data]).first()
        if target is None:
            self.fail("does_not_exist", value=data)
        return target

    def to_representation(self, value):
        return value.key


class RecommendationWriteSerializer(RefusesUnknownFields, serializers.ModelSerializer):
    themes = CodeRelatedField(slug_field="code", queryset=ThematicArea.objects.all(), many=True, required=False)
    framework_targets = FrameworkTargetKeyField(
        queryset=FrameworkTarget.objects.select_related("framework"), many=True, required=False
    )
    applies_to = CodeRelatedField(slug_field="iso_code", queryset=MemberState.objects.all(), many=True, required=False)

    class Meta:
        model = Recommendation
        fields = [
            "meeting",
            "reference",
            "position",
            "text_en",
            "text_ar",
            "arabic_text_status",
            "themes",
            "framework_targets",
            "applies_to",
            "target_date",
            "is_public",
            "is_archived",
        ]


class ReviewCycleWriteSerializer(RefusesUnknownFields, serializers.ModelSerializer):
    state = serializers.ChoiceField(
        choices=ReviewCycle.State.choices,
        required=False,
        help_text="Moves the cycle: planned → open → under review → closed (or back to open).",
    )

    class Meta:
        model = ReviewCycle
        fields = [
            "body",
            "name_en",
            "name_ar",
            "period_start",
            "period_end",
            "report_deadline",
            "review_meeting_date",
            "state",
        ]
        # The model's constraints (one open cycle per body, ordered dates) are checked by full_clean and
        # move_cycle; DRF's generated validator would wrongly make `state` required.
        validators = []


# --- Evidence files of a report (tracker.api.evidence) ---------------------------------------------


@extend_schema_field(OpenApiTypes.BINARY)
class UploadedFileField(serializers.FileField):
    """A file part of a multipart body: binary in the schema (a plain FileField is documented as its name)."""


class EvidenceUploadSerializer(RefusesUnknownFields, serializers.Serializer):
    """The multipart/form-data body of an upload: one `file` part per file. The rules are the focal point form's
    (tracker.core.evidence): type read from the content, size, macros, quotas."""

    file = serializers.ListField(
        child=UploadedFileField(allow_empty_file=False, use_url=False),
        allow_empty=False,
        help_text=(
            "One or several files (repeat the part): PDF, JPEG, PNG, WebP, Word or Excel, judged by their content, "
            "not their name."
        ),
    )


class EvidenceFileSerializer(EvidenceSerializer):
    """One evidence file of a report, with where to read it."""

    report = serializers.IntegerField(source="report_id")
    url = serializers.SerializerMethodField(help_text="This file's metadata.")
    file_url = serializers.SerializerMethodField(help_text="Where to download the file itself.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, evidence):
        return self._absolute("api:progress-report-evidence-detail", evidence)

    @extend_schema_field(OpenApiTypes.URI)
    def get_file_url(self, evidence):
        return self._absolute("api:progress-report-evidence-file", evidence)

    def _absolute(self, name, evidence):
        path = reverse(name, kwargs={"report_id": evidence.report_id, "evidence_id": evidence.pk})
        return self.context["request"].build_absolute_uri(path)
