"""The domain: bodies and their member states, meetings and their recommendations, one implementation per
recommendation and state, append-only progress reports, focal point designations and review cycles.

Durable states are stored; transient ones (stalled, due, overdue) are derived in the querysets of
`tracker.core.querysets` so every page, task and API answer computes them the same way.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import (
    MaxLengthValidator,
    MaxValueValidator,
    MinValueValidator,
    ProhibitNullCharactersValidator,
    RegexValidator,
)
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from tracker.core.evidence import download_name, stored_suffix
from tracker.core.language import active as active_language
from tracker.core.querysets import (
    DesignationQuerySet,
    FrameworkTargetQuerySet,
    ImplementationQuerySet,
    RecommendationQuerySet,
    ReportQuerySet,
)


def localized(obj: models.Model, field: str) -> str:
    """The Arabic or English value of a bilingual field, in the active language, falling back to the other."""
    first, second = ("ar", "en") if (active_language() or "en").startswith("ar") else ("en", "ar")
    return getattr(obj, f"{field}_{first}") or getattr(obj, f"{field}_{second}")


class Language(models.TextChoices):
    ARABIC = "ar", _("Arabic")
    ENGLISH = "en", _("English")


class Status(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    IN_PROGRESS = "in_progress", _("In progress")
    IMPLEMENTED = "implemented", _("Implemented")
    NOT_APPLICABLE = "not_applicable", _("Not applicable")


class DueState(models.TextChoices):
    NONE = "none", _("Nothing due")
    REPORTED = "reported", _("Reported in this cycle")
    DUE = "due", _("Due in this cycle")
    DUE_SOON = "due_soon", _("Due soon")
    OVERDUE = "overdue", _("Overdue")
    # Sent by the focal points, waiting for the state's national validator: neither reported nor missing.
    AWAITING_VALIDATION = "awaiting_validation", _("Awaiting national validation")


#: Statuses that end the follow-up of an item: it is never stalled and no report is chased.
SETTLED_STATUSES = (Status.IMPLEMENTED, Status.NOT_APPLICABLE)


def change_stamp(indexed: bool = True) -> models.BigIntegerField[int, int]:
    """The column incremental sync reads: a database trigger sets it on every write (tracker.core.sync)."""
    return models.BigIntegerField(
        _("change sequence"),
        default=0,
        editable=False,
        db_index=indexed,
        help_text=_("Set by the database on every write; incremental sync reads it (tracker.core.sync)."),
    )


class OpenDataLicence(models.TextChoices):
    """Licences a secretariat may choose for what it publishes (SPDX identifiers)."""

    CC_BY_4 = "CC-BY-4.0", _("Creative Commons Attribution 4.0 International (CC BY 4.0)")
    CC_BY_IGO = "CC-BY-3.0-IGO", _("Creative Commons Attribution 3.0 IGO (CC BY 3.0 IGO)")
    CC0 = "CC0-1.0", _("Public domain dedication (CC0 1.0)")
    ODBL = "ODbL-1.0", _("Open Data Commons Open Database License (ODbL 1.0)")

    @property
    def url(self) -> str:
        return LICENCE_URLS[self.value]


LICENCE_URLS = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC-BY-3.0-IGO": "https://creativecommons.org/licenses/by/3.0/igo/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "ODbL-1.0": "https://opendatacommons.org/licenses/odbl/1-0/",
}


class Body(models.Model):
    """A regional framework (AIMC, or another) whose member states follow up recommendations."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    acronym_en = models.CharField(_("acronym (English)"), max_length=32)
    acronym_ar = models.CharField(_("acronym (Arabic)"), max_length=64, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=255)
    name_ar = models.CharField(_("name (Arabic)"), max_length=255)
    member_states: models.ManyToManyField[MemberState, Any] = models.ManyToManyField(
        "MemberState", related_name="bodies", blank=True, verbose_name=_("member states")
    )
    secretariat_email = models.EmailField(_("secretariat e-mail"), blank=True)
    # Stalled thresholds (the review mechanism).
    stale_after_days = models.PositiveIntegerField(
        _("no report for more than (days)"),
        default=180,
        validators=[MinValueValidator(1)],
        help_text=_("An item is stalled when its last submitted report is older than this."),
    )
    unchanged_cycles = models.PositiveIntegerField(
        _("unchanged over closed cycles"),
        default=2,
        validators=[MinValueValidator(1)],
        help_text=_("An item is stalled when status and progress did not change over this many closed cycles."),
    )
    change_xid = change_stamp(indexed=False)
    # Reminder policy.
    remind_days_before = models.CharField(
        _("remind before the deadline (days)"),
        max_length=64,
        default="14,3",
        help_text=_("Comma-separated numbers of days before the report deadline, e.g. 14,3."),
    )
    overdue_every_days = models.PositiveIntegerField(
        _("overdue reminder every (days)"), default=7, validators=[MinValueValidator(1)]
    )
    overdue_max_reminders = models.PositiveIntegerField(_("overdue reminders at most"), default=4)
    escalate_after_days = models.PositiveIntegerField(
        _("escalate when overdue by (days)"),
        default=14,
        help_text=_("From this many days overdue the alternate focal point and the secretariat are copied."),
    )
    open_data_licence = models.CharField(
        _("open data licence"),
        max_length=16,
        choices=OpenDataLicence.choices,
        default=OpenDataLicence.CC_BY_4,
        help_text=_("The licence shown with the public pages and every download of what this body publishes."),
    )
    reviewers_may_ask = models.BooleanField(
        _("reviewers may ask for clarification"),
        default=False,
        help_text=_("Besides the secretariat, reviewers may ask a state to clarify a report or an item."),
    )

    class Meta:
        verbose_name = _("body")
        verbose_name_plural = _("bodies")
        ordering = ["code"]

    def __str__(self) -> str:
        return localized(self, "acronym") or self.code

    @property
    def name(self) -> str:
        return localized(self, "name")

    def clean(self) -> None:
        try:
            self.reminder_offsets()
        except ValueError:
            raise ValidationError(
                {"remind_days_before": _("Enter whole numbers of days separated by commas, e.g. 14,3.")}
            ) from None

    def reminder_offsets(self) -> list[int]:
        """Days before the deadline at which reminders go out, largest first."""
        parts = [p.strip() for p in self.remind_days_before.split(",") if p.strip()]
        days = sorted({int(p) for p in parts}, reverse=True)
        if any(d < 0 for d in days):
            raise ValueError("negative offset")
        return days


class MemberState(models.Model):
    iso_code = models.CharField(_("ISO code"), max_length=2, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=128)
    name_ar = models.CharField(_("name (Arabic)"), max_length=128)

    class Meta:
        verbose_name = _("member state")
        verbose_name_plural = _("member states")
        ordering = ["name_en"]
        constraints = [
            models.CheckConstraint(
                condition=Q(iso_code__regex=r"^[A-Z]{2}$"), name="member_state_iso_code_two_capitals"
            ),
        ]

    def __str__(self) -> str:
        return localized(self, "name")

    @property
    def name(self) -> str:
        return localized(self, "name")


class Organisation(models.Model):
    """An organiser of meetings (UNHCR, the AIMC general secretariat, ...)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    acronym_en = models.CharField(_("acronym (English)"), max_length=32)
    acronym_ar = models.CharField(_("acronym (Arabic)"), max_length=64, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=255)
    name_ar = models.CharField(_("name (Arabic)"), max_length=255)
    email = models.EmailField(
        _("contact e-mail"), blank=True, help_text=_("Where reminders of the organisation's commitments go.")
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["code"]

    def __str__(self) -> str:
        return localized(self, "acronym")


class Meeting(models.Model):
    """A source of recommendations: a workshop, an expert meeting, a study."""

    class Kind(models.TextChoices):
        WORKSHOP = "workshop", _("Workshop")
        EXPERT_MEETING = "expert_meeting", _("Expert meeting")
        CONFERENCE = "conference", _("Conference")
        STUDY = "study", _("Study")

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="meetings", verbose_name=_("body"))
    code = models.SlugField(_("code"), max_length=64, unique=True)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    title_en = models.CharField(_("title (English)"), max_length=500)
    title_ar = models.CharField(_("title (Arabic)"), max_length=500)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    venue_en = models.CharField(_("venue (English)"), max_length=255, blank=True)
    venue_ar = models.CharField(_("venue (Arabic)"), max_length=255, blank=True)
    organisers = models.ManyToManyField(Organisation, blank=True, verbose_name=_("organisers"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-start_date", "code"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(end_date__isnull=True) | Q(start_date__isnull=True) | Q(end_date__gte=models.F("start_date"))
                ),
                name="meeting_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return localized(self, "title")

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def venue(self) -> str:
        return localized(self, "venue")


class ThematicArea(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=255)
    name_ar = models.CharField(_("name (Arabic)"), max_length=255)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("thematic area")
        verbose_name_plural = _("thematic areas")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return localized(self, "name")

    @property
    def name(self) -> str:
        return localized(self, "name")


class Framework(models.Model):
    """An external framework recommendations can be linked to: the Sustainable Development Goals, the Global
    Compact on Refugees. A taxonomy the secretariat manages; shown on public pages, exported and in the API."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=255)
    name_ar = models.CharField(_("name (Arabic)"), max_length=255)
    url = models.URLField(_("web address"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("external framework")
        verbose_name_plural = _("external frameworks")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return localized(self, "name")

    @property
    def name(self) -> str:
        return localized(self, "name")


class FrameworkTarget(models.Model):
    """One target or objective of an external framework (SDG target 10.7, GCR objective 1)."""

    framework = models.ForeignKey(
        Framework, on_delete=models.PROTECT, related_name="targets", verbose_name=_("framework")
    )
    code = models.CharField(
        _("code"),
        max_length=32,
        validators=[RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$", _("Letters, digits, dots and hyphens only."))],
        help_text=_("As the framework numbers it, e.g. 10.7 or 1."),
    )
    title_en = models.CharField(_("title (English)"), max_length=500)
    title_ar = models.CharField(_("title (Arabic)"), max_length=500)
    url = models.URLField(_("web address"), blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    objects = FrameworkTargetQuerySet.as_manager()

    class Meta:
        verbose_name = _("framework target")
        verbose_name_plural = _("framework targets")
        ordering = ["framework__position", "framework__code", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "code"], name="framework_target_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.framework.code.upper()} {self.code} · {self.title}"

    @property
    def title(self) -> str:
        return localized(self, "title")

    @property
    def key(self) -> str:
        """The stable identifier partners and downloads use: framework code and target code, e.g. sdg-10.7."""
        return f"{self.framework.code}-{self.code}"


class Recommendation(models.Model):
    class ArabicText(models.TextChoices):
        OFFICIAL = "official", _("Official text")
        WORKING = "working", _("Working translation")

    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, related_name="recommendations", verbose_name=_("meeting")
    )
    reference = models.CharField(_("reference"), max_length=32)
    position = models.PositiveIntegerField(_("position"), default=0)
    text_en = models.TextField(_("text (English)"))
    text_ar = models.TextField(_("text (Arabic)"))
    arabic_text_status = models.CharField(
        _("Arabic text"), max_length=16, choices=ArabicText.choices, default=ArabicText.OFFICIAL
    )
    themes = models.ManyToManyField(ThematicArea, blank=True, related_name="recommendations", verbose_name=_("themes"))
    applies_to = models.ManyToManyField(
        MemberState,
        blank=True,
        related_name="recommendations",
        verbose_name=_("applies to"),
        help_text=_("Leave empty to apply to every member state of the body."),
    )
    framework_targets = models.ManyToManyField(
        FrameworkTarget,
        blank=True,
        related_name="recommendations",
        verbose_name=_("framework targets"),
        help_text=_("The targets of external frameworks (SDG, Global Compact on Refugees) this recommendation serves."),
    )
    target_date = models.DateField(_("target date"), null=True, blank=True)
    is_public = models.BooleanField(
        _("public"),
        default=False,
        help_text=_(
            "Shown on the public pages and in the open data, with the progress of the states that agreed to publish."
        ),
    )
    is_archived = models.BooleanField(_("archived"), default=False, db_index=True)
    is_sample = models.BooleanField(
        _("sample item"), default=False, help_text=_("Demo data, not adopted by any meeting.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)
    change_xid = change_stamp()
    history = HistoricalRecords(m2m_fields=[applies_to, themes, framework_targets], excluded_fields=["change_xid"])

    objects = RecommendationQuerySet.as_manager()

    class Meta:
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")
        ordering = ["meeting", "position", "reference"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "reference"], name="recommendation_reference_unique_in_meeting"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.text[:80]}"

    @property
    def text(self) -> str:
        return localized(self, "text")

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Recommendations are archived, never deleted."))

    def applicable_states(self) -> list[MemberState]:
        """The states named in applies_to, or every member state of the meeting's body."""
        chosen = list(self.applies_to.all())
        return chosen or list(self.meeting.body.member_states.all())

    def sync_implementations(self) -> None:
        """One implementation per applicable state; states no longer applicable keep theirs, marked."""
        states = {s.pk for s in self.applicable_states()}
        existing = {i.member_state_id: i for i in self.implementations.all()}
        from tracker.core.history import current_user_id, record_item_history

        created = Implementation.objects.bulk_create(
            [Implementation(recommendation=self, member_state_id=pk) for pk in states - existing.keys()]
        )
        back = list(self.implementations.filter(member_state_id__in=states, applies=False).values_list("pk", flat=True))
        gone = list(
            self.implementations.exclude(member_state_id__in=states).filter(applies=True).values_list("pk", flat=True)
        )
        Implementation.objects.filter(pk__in=back).update(applies=True)
        Implementation.objects.filter(pk__in=gone).update(applies=False)
        changed = [item.pk for item in created if item.pk] + back + gone
        if changed:
            reason = f"Recommendation {self.reference}: the states it applies to changed"
            record_item_history(Implementation.objects.filter(pk__in=changed), reason, current_user_id())
        from tracker.core.events import applies_changed

        applies_changed(back + gone)


class Implementation(models.Model):
    """What one member state has done about one recommendation: the current, durable state.

    `last_reported_at`, `has_open_obstacle`, `status_changed_at` and `open_commitment_due` are kept up to
    date in the same transaction as the report, outcome or commitment that changes them, so the stalled scan
    is one indexed query. Closing a cycle writes none of them: "unchanged over K closed cycles" compares
    `status_changed_at`, which changes only when a report changes status or progress, with the times the
    body's cycles closed.
    """

    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.PROTECT, related_name="implementations", verbose_name=_("recommendation")
    )
    member_state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="implementations", verbose_name=_("member state")
    )
    applies = models.BooleanField(_("applies"), default=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    last_reported_at = models.DateTimeField(_("last reported"), null=True, blank=True)
    last_report_cycle = models.ForeignKey(
        "ReviewCycle",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cycle of the last report"),
    )
    has_open_obstacle = models.BooleanField(
        _("obstacle without solution"),
        default=False,
        help_text=_("An obstacle or support need was reported and the review has recorded no solution yet."),
    )
    status_changed_at = models.DateTimeField(
        _("status or progress last changed"),
        default=timezone.now,
        help_text=_("When a report last changed status or progress (or the item was created)."),
    )
    open_commitment_due = models.DateField(
        _("earliest open commitment due"),
        null=True,
        blank=True,
        help_text=_("The due date of the earliest commitment of this item that is still open."),
    )
    awaiting_validation_since = models.DateTimeField(
        _("awaiting national validation since"),
        null=True,
        blank=True,
        help_text=_("When the report now waiting for the state's national validator was sent to them."),
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)
    change_xid = change_stamp()
    history = HistoricalRecords(excluded_fields=["change_xid"])

    objects = ImplementationQuerySet.as_manager()

    class Meta:
        verbose_name = _("implementation")
        verbose_name_plural = _("implementations")
        ordering = ["recommendation_id", "member_state_id"]
        constraints = [
            models.UniqueConstraint(fields=["recommendation", "member_state"], name="one_implementation_per_state"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="implementation_progress_0_100"),
            models.CheckConstraint(condition=Q(version__gte=1), name="implementation_version_positive"),
        ]
        indexes = [
            models.Index(
                fields=["last_reported_at"],
                name="impl_open_last_reported",
                condition=Q(applies=True) & ~Q(status__in=["implemented", "not_applicable"]),
            ),
            models.Index(fields=["member_state", "status"], name="impl_state_status"),
            # What the review's summary counts, per state, read from the index alone (PostgreSQL): recounting a
            # state of 45,000 items after a report reads its entries here (97 MB at a million items), not 15,000
            # scattered table pages.
            models.Index(
                fields=["member_state"],
                include=[
                    "id",
                    "applies",
                    "status",
                    "recommendation",
                    "last_reported_at",
                    "created_at",
                    "last_report_cycle",
                    "awaiting_validation_since",
                    "status_changed_at",
                    "has_open_obstacle",
                    "open_commitment_due",
                ],
                name="impl_state_counts",
            ),
            models.Index(
                fields=["awaiting_validation_since"],
                name="impl_awaiting_validation",
                condition=Q(awaiting_validation_since__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recommendation.reference} · {self.member_state.iso_code}"

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Implementations are never deleted."))

    @property
    def is_settled(self) -> bool:
        return self.status in SETTLED_STATUSES

    def due_state(self, open_cycle: ReviewCycle | None, today: date) -> DueState:
        """What the open cycle expects of this item: reported, due, due soon, overdue, or nothing."""
        if open_cycle is None or self.is_settled or not self.applies:
            return DueState.NONE
        if self.last_report_cycle_id == open_cycle.pk:
            return DueState.REPORTED
        if self.awaiting_validation_since is not None:
            return DueState.AWAITING_VALIDATION
        if open_cycle.report_deadline < today:
            return DueState.OVERDUE
        soon = max(open_cycle.body.reminder_offsets() or [0])
        if (open_cycle.report_deadline - today).days <= soon:
            return DueState.DUE_SOON
        return DueState.DUE


def evidence_upload_to(instance: Evidence, filename: str) -> str:
    """A random name with the extension of the type read from the content: the original name is kept in the
    database, never used on disk or in a URL."""
    return f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{stored_suffix(instance.content_type)}"


#: The longest text of a report or a review outcome (the web form, the admin and the API refuse more).
REPORT_TEXT_MAX_LENGTH = 20_000


def has_visible_text(text: str) -> bool:
    """Whether the text shows anything: not only spaces and invisible format characters (zero-width spaces and
    joiners, direction marks, byte order marks), which a pasted or autocompleted field can hold."""
    return any(not char.isspace() and unicodedata.category(char) != "Cf" for char in text)


def text_rules(max_length: int | None = REPORT_TEXT_MAX_LENGTH) -> list[Any]:
    """Validators of a free text: no NUL character (PostgreSQL refuses it in text), at most `max_length`."""
    rules: list[Any] = [ProhibitNullCharactersValidator()]
    if max_length is not None:
        rules.append(MaxLengthValidator(max_length))
    return rules


class ProgressReport(models.Model):
    """One report by a focal point on one implementation. Append-only: a correction is a new report."""

    class State(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("progress report", "Draft")
        # Where the state's reports need national validation: sent by a focal point, not yet approved.
        AWAITING_VALIDATION = "awaiting_validation", pgettext_lazy("progress report", "Awaiting validation")
        SUBMITTED = "submitted", pgettext_lazy("progress report", "Submitted")

    implementation = models.ForeignKey(
        Implementation, on_delete=models.PROTECT, related_name="reports", verbose_name=_("implementation")
    )
    cycle = models.ForeignKey(
        "ReviewCycle",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name=_("review cycle"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="progress_reports", verbose_name=_("author")
    )
    # "state" is the report's stage; `status` below is the implementation status: two words in Arabic too.
    state = models.CharField(
        pgettext_lazy("progress report", "state"), max_length=24, choices=State.choices, default=State.DRAFT
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    progress = models.PositiveSmallIntegerField(
        _("progress (%)"), validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    narrative = models.TextField(_("what was done"), blank=True, validators=text_rules())
    obstacles = models.TextField(_("obstacles"), blank=True, validators=text_rules())
    support_needed = models.TextField(_("support needed"), blank=True, validators=text_rules())
    based_on_version = models.PositiveIntegerField(
        _("implementation version when opened"),
        null=True,
        blank=True,
        help_text=_("Used to refuse a save when someone else reported in between."),
    )
    # A draft is the state's, shared by its focal points: `author` started it, `updated_by` changed it last, and
    # `revision` counts its saves so that a save based on an older revision is refused (services.StaleDraft).
    revision = models.PositiveIntegerField(
        _("draft revision"),
        default=1,
        help_text=_("Counts the saves of a draft: a save made from an older one is refused."),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("last changed by"),
    )
    sent_for_validation_at = models.DateTimeField(_("sent for national validation"), null=True, blank=True)
    sent_for_validation_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sent for validation by"),
    )
    is_archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)
    change_xid = change_stamp()

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        ordering = ["-submitted_at", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_progress_0_100"),
            models.CheckConstraint(
                condition=(
                    Q(state__in=["draft", "awaiting_validation"], submitted_at__isnull=True)
                    | Q(state="submitted", submitted_at__isnull=False)
                ),
                name="report_submitted_has_timestamp",
            ),
            models.CheckConstraint(
                condition=~Q(state="awaiting_validation") | Q(sent_for_validation_at__isnull=False),
                name="report_awaiting_validation_has_timestamp",
            ),
            models.CheckConstraint(
                condition=~Q(state="submitted", status="implemented", narrative=""),
                name="report_implemented_has_narrative",
            ),
            models.UniqueConstraint(
                fields=["implementation"],
                condition=Q(state__in=["draft", "awaiting_validation"], is_archived=False),
                name="one_working_draft_per_implementation",
                violation_error_message=_("This item already has a draft or a report awaiting validation."),
            ),
        ]
        indexes = [
            models.Index(fields=["implementation", "state", "cycle"], name="report_impl_state_cycle"),
        ]

    def __str__(self) -> str:
        return f"{self.implementation} · {self.get_state_display()} · {self.created_at:%Y-%m-%d}"

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Reports are archived, never deleted."))

    @property
    def is_submitted(self) -> bool:
        return self.state == self.State.SUBMITTED

    @property
    def is_awaiting_validation(self) -> bool:
        return self.state == self.State.AWAITING_VALIDATION

    @property
    def mentions_obstacle(self) -> bool:
        return bool(self.obstacles.strip() or self.support_needed.strip())

    def clean(self) -> None:
        errors = {}
        if self.progress is not None and not 0 <= self.progress <= 100:
            errors["progress"] = _("Progress must be between 0 and 100.")
        elif self.status == Status.NOT_STARTED and self.progress:
            errors["progress"] = _("An item that has not started cannot have progress above 0.")
        elif self.status == Status.IMPLEMENTED and self.progress != 100:
            errors["progress"] = _("An implemented item has progress 100.")
        elif self.status == Status.IN_PROGRESS and self.progress == 100:
            errors["progress"] = _("Progress 100 means implemented: choose that status.")
        if self.status == Status.IMPLEMENTED and not has_visible_text(self.narrative):
            errors["narrative"] = _("Describe what was done before marking the item implemented.")
        if errors:
            raise ValidationError(errors)


class Evidence(models.Model):
    """A file attached to a progress report or, when a commitment is marked done, to that commitment."""

    report = models.ForeignKey(
        ProgressReport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence",
        verbose_name=_("report"),
    )
    commitment = models.ForeignKey(
        "Commitment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evidence",
        verbose_name=_("commitment"),
    )
    file = models.FileField(_("file"), upload_to=evidence_upload_to, max_length=255)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(report__isnull=False, commitment__isnull=True)
                | Q(report__isnull=True, commitment__isnull=False),
                name="evidence_of_a_report_or_a_commitment",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name

    @property
    def download_name(self) -> str:
        """The name it is downloaded under: the original, with the extension of the type of its content."""
        return download_name(self.original_name, self.content_type)


class FocalPointDesignation(models.Model):
    """A user designated by a member state to report for a body. Ended, never deleted: history survives."""

    class Role(models.TextChoices):
        PRIMARY = "primary", _("Primary")
        ALTERNATE = "alternate", _("Alternate")
        # Approves the focal points' reports before they reach the secretariat, where the state requires it
        # (NationalValidation); sees the state's items, does not draft reports.
        VALIDATOR = "validator", _("National validator")

    REPORTING_ROLES = (Role.PRIMARY, Role.ALTERNATE)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="designations", verbose_name=_("user")
    )
    member_state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="designations", verbose_name=_("member state")
    )
    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="designations", verbose_name=_("body"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.PRIMARY)
    start_date = models.DateField(_("start date"), default=timezone.localdate)
    end_date = models.DateField(
        _("end date"), null=True, blank=True, help_text=_("Leave empty while the designation is active.")
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.ARABIC
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # When the person first saw the summary of what their state has in progress (drafts, clarifications,
    # commitments): shown once after they sign in under this designation, e.g. after a handover.
    summary_seen_at = models.DateTimeField(_("handover summary seen"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords(excluded_fields=["summary_seen_at"])

    objects = DesignationQuerySet.as_manager()

    class Meta:
        verbose_name = _("focal point designation")
        verbose_name_plural = _("focal point designations")
        ordering = ["member_state__name_en", "role", "-start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["member_state", "body"],
                condition=Q(role="primary", end_date__isnull=True),
                name="one_active_primary_per_state_and_body",
                violation_error_message=_(
                    "This member state already has an active primary focal point for this "
                    "body: hand over from the current one instead."
                ),
            ),
            models.UniqueConstraint(
                fields=["user", "member_state", "body"],
                condition=Q(end_date__isnull=True),
                name="one_active_designation_per_user_state_body",
                violation_error_message=_("This person already has an active designation for this state and body."),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="designation_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.member_state.iso_code} · {self.get_role_display()}"

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Designations are ended, never deleted."))

    @property
    def is_active(self) -> bool:
        return self.end_date is None


class ReviewCycle(models.Model):
    """One round of the regular review mechanism."""

    class State(models.TextChoices):
        # A cycle (دورة) is feminine in Arabic: the context keeps these apart from other "Open"/"Closed".
        PLANNED = "planned", pgettext_lazy("review cycle", "Planned")
        OPEN = "open", pgettext_lazy("review cycle", "Open")
        UNDER_REVIEW = "under_review", pgettext_lazy("review cycle", "Under review")
        CLOSING = "closing", pgettext_lazy("review cycle", "Closing")
        CLOSED = "closed", pgettext_lazy("review cycle", "Closed")

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="cycles", verbose_name=_("body"))
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_ar = models.CharField(_("name (Arabic)"), max_length=200)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    report_deadline = models.DateField(_("report deadline"), db_index=True)
    review_meeting_date = models.DateField(_("review meeting date"), null=True, blank=True)
    state = models.CharField(
        pgettext_lazy("review cycle", "state"),
        max_length=16,
        choices=State.choices,
        default=State.PLANNED,
        db_index=True,
    )
    opened_at = models.DateTimeField(_("opened"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closing_started_at = models.DateTimeField(_("closing started"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    record = models.JSONField(
        _("frozen record"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("What the cycle's report needs, counted once at its close and never changed."),
    )
    history = HistoricalRecords(excluded_fields=["record"])

    class Meta:
        verbose_name = _("review cycle")
        verbose_name_plural = _("review cycles")
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["body"],
                condition=Q(state="open"),
                name="one_open_cycle_per_body",
                violation_error_message=_("Another cycle of this body is already open: close it first."),
            ),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="cycle_period_ordered"),
            models.CheckConstraint(
                condition=Q(report_deadline__gte=models.F("period_start")), name="cycle_deadline_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(state="closed") | Q(closed_at__isnull=False), name="cycle_closed_has_timestamp"
            ),
        ]

    def __str__(self) -> str:
        return localized(self, "name")

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        # The stalled reasons of the body's items follow its cycles (an overdue cycle, the closed ones): the
        # body is stamped as changed, so every item of it moves in the sync feed (tracker.core.sync).
        Body.objects.filter(pk=self.body_id).update(change_xid=models.F("change_xid"))

    @property
    def name(self) -> str:
        return localized(self, "name")

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Review cycles are closed, never deleted."))

    @property
    def is_closed(self) -> bool:
        return self.state == self.State.CLOSED

    @property
    def takes_reports(self) -> bool:
        """Reports count for a cycle while it is open or under review; never once its close has begun."""
        return self.state in (self.State.OPEN, self.State.UNDER_REVIEW)


class CycleSnapshot(models.Model):
    """One implementation as it stood when a cycle closed: status, progress, whether it reported in the cycle,
    and the stalled reasons that held then (with the dates their explanations need). Never changed."""

    # No database foreign-key constraints and no separate cycle index: a close writes a million rows in one
    # INSERT ... SELECT, and checking each row against its cycle and its item cost 7 of the 15 seconds it
    # took (make bench-review). The rows come from those very tables in that statement, under a lock on the
    # cycle; implementations and cycles are never deleted (their delete() refuses, PROTECT everywhere), and
    # the unique (cycle, implementation) index serves every lookup by cycle.
    cycle = models.ForeignKey(
        ReviewCycle, on_delete=models.PROTECT, related_name="snapshots", db_constraint=False, db_index=False
    )
    implementation = models.ForeignKey(
        Implementation, on_delete=models.PROTECT, related_name="snapshots", db_constraint=False
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    progress = models.PositiveSmallIntegerField(_("progress (%)"))
    reported_in_cycle = models.BooleanField(_("reported in this cycle"), default=False)
    # Bit i set: the i-th StalledReason (in declaration order) held at the close. Null: closed before the
    # reasons were frozen.
    reasons = models.PositiveIntegerField(_("stalled reasons"), null=True, blank=True)
    last_reported_at = models.DateTimeField(_("last reported"), null=True, blank=True)
    status_changed_at = models.DateTimeField(_("status or progress last changed"), null=True, blank=True)

    class Meta:
        verbose_name = _("cycle snapshot")
        verbose_name_plural = _("cycle snapshots")
        constraints = [
            models.UniqueConstraint(fields=["cycle", "implementation"], name="one_snapshot_per_cycle_and_item"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="snapshot_progress_0_100"),
        ]

    def __str__(self) -> str:
        return f"{self.cycle} · {self.implementation_id} · {self.status} {self.progress}%"


class ReviewOutcome(models.Model):
    """What a review concluded about an item: the obstacle found, the solution agreed, who follows up."""

    class ObstacleCategory(models.TextChoices):
        LEGAL = "legal", _("Legal or policy framework")
        RESOURCES = "resources", _("Resources or funding")
        CAPACITY = "capacity", _("Technical capacity")
        COORDINATION = "coordination", _("Coordination between agencies")
        DATA = "data", _("Data or information")
        SECURITY = "security", _("Security situation")
        OTHER = "other", _("Other")

    implementation = models.ForeignKey(
        Implementation, on_delete=models.PROTECT, related_name="outcomes", verbose_name=_("implementation")
    )
    cycle = models.ForeignKey(
        ReviewCycle,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outcomes",
        verbose_name=_("review cycle"),
    )
    obstacle_category = models.CharField(_("obstacle category"), max_length=32, choices=ObstacleCategory.choices)
    obstacle = models.TextField(_("obstacle found"), blank=True, validators=text_rules())
    solution = models.TextField(_("solution agreed"), blank=True, validators=text_rules())
    follow_up_by = models.CharField(_("who follows up"), max_length=255, blank=True, validators=text_rules(None))
    follow_up_due = models.DateField(_("follow up by"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)
    change_xid = change_stamp()

    class Meta:
        verbose_name = _("review outcome")
        verbose_name_plural = _("review outcomes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.implementation} · {self.get_obstacle_category_display()}"

    @property
    def records_solution(self) -> bool:
        return bool(self.solution.strip())


class Commitment(models.Model):
    """What a review agreed someone will do about an item, by when. Open until its owner marks it done (the
    secretariat then confirms it or reopens it) or the secretariat drops it with a reason. "Late" is derived:
    open past its due date (see `Implementation.open_commitment_due`, kept by tracker.core.commitments)."""

    class Owner(models.TextChoices):
        STATE = "state", _("The member state's focal points")
        SECRETARIAT = "secretariat", _("The secretariat")
        PARTNER = "partner", _("A partner organisation")

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("commitment", "Open")
        DONE = "done", pgettext_lazy("commitment", "Done")
        DROPPED = "dropped", pgettext_lazy("commitment", "Dropped")

    outcome = models.ForeignKey(
        ReviewOutcome, on_delete=models.PROTECT, related_name="commitments", verbose_name=_("review outcome")
    )
    implementation = models.ForeignKey(
        Implementation, on_delete=models.PROTECT, related_name="commitments", verbose_name=_("implementation")
    )
    description = models.TextField(_("what is to be done"), validators=text_rules())
    owner = models.CharField(_("who"), max_length=16, choices=Owner.choices, default=Owner.STATE)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="commitments",
        verbose_name=_("partner organisation"),
    )
    due_date = models.DateField(_("due by"), db_index=True)
    state = models.CharField(
        pgettext_lazy("commitment", "state"), max_length=16, choices=State.choices, default=State.OPEN, db_index=True
    )
    done_at = models.DateTimeField(_("marked done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("marked done by"),
    )
    done_note = models.TextField(_("what was done"), blank=True, validators=text_rules())
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("confirmed by"),
    )
    dropped_reason = models.TextField(_("why it was dropped"), blank=True, validators=text_rules())
    # Shown to the owner while the commitment is open again; earlier reasons stay in the history.
    reopened_reason = models.TextField(_("why it was reopened"), blank=True, validators=text_rules())
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)
    change_xid = change_stamp()
    history = HistoricalRecords(excluded_fields=["change_xid"])

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["due_date", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="done") | Q(done_at__isnull=False), name="commitment_done_has_timestamp"
            ),
            models.CheckConstraint(
                condition=~Q(state="dropped") | ~Q(dropped_reason=""), name="commitment_dropped_has_reason"
            ),
            models.CheckConstraint(
                condition=~Q(owner="partner") | Q(organisation__isnull=False), name="commitment_partner_is_named"
            ),
            models.CheckConstraint(
                condition=Q(confirmed_at__isnull=True) | Q(state="done"), name="commitment_confirmed_is_done"
            ),
            models.CheckConstraint(
                condition=Q(owner="partner") | Q(organisation__isnull=True),
                name="commitment_organisation_only_for_partner",
                violation_error_message=_("Name an organisation only when a partner organisation follows up."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.implementation_id} · {self.description[:60]}"

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Commitments are dropped with a reason, never deleted."))

    def is_late(self, today: date | None = None) -> bool:
        return self.state == self.State.OPEN and self.due_date < (today or timezone.localdate())

    def clean(self) -> None:
        if self.owner == self.Owner.PARTNER and self.organisation_id is None:
            raise ValidationError({"organisation": _("Name the partner organisation that follows up.")})
        if self.state == self.State.DROPPED and not self.dropped_reason.strip():
            raise ValidationError({"dropped_reason": _("Say why the commitment is dropped.")})


class NationalValidation(models.Model):
    """Whether a member state's reports for a body need national validation before they reach the secretariat.

    No row, or `required` off: a focal point's report reaches the secretariat at once (the default). On: it
    waits for one of the state's national validators (FocalPointDesignation, role "validator") to approve it
    (it then counts for the cycle) or return it with a comment (it is the state's shared draft again)."""

    body = models.ForeignKey(Body, on_delete=models.PROTECT, related_name="+", verbose_name=_("body"))
    member_state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="+", verbose_name=_("member state")
    )
    required = models.BooleanField(_("reports need national validation"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("national validation setting")
        verbose_name_plural = _("national validation settings")
        ordering = ["body__code", "member_state__name_en"]
        constraints = [
            models.UniqueConstraint(
                fields=["body", "member_state"],
                name="one_validation_setting_per_state_and_body",
                violation_error_message=_("This state already has a validation setting for this body."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.body} · {self.member_state.iso_code} · {self.required}"

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Turn national validation off instead: its history is kept."))


class ValidationDecision(models.Model):
    """A national validator approved a report, or returned it to the focal points with a comment."""

    class Decision(models.TextChoices):
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned to the focal points")

    report = models.ForeignKey(
        ProgressReport, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("progress report")
    )
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    comment = models.TextField(_("comment"), blank=True, validators=text_rules())
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by")
    )
    created_at = models.DateTimeField(_("decided"), auto_now_add=True)

    class Meta:
        verbose_name = _("validation decision")
        verbose_name_plural = _("validation decisions")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(decision="returned") | ~Q(comment=""),
                name="validation_return_has_comment",
                violation_error_message=_("Say why the report is returned."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} · {self.get_decision_display()}"

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Validation decisions are never deleted."))

    def clean(self) -> None:
        if self.decision == self.Decision.RETURNED and not self.comment.strip():
            raise ValidationError({"comment": _("Say why the report is returned.")})


#: The longest message of a clarification thread.
CLARIFICATION_MAX_LENGTH = 5_000


class Clarification(models.Model):
    """A private question from the secretariat (or a reviewer, where the body allows) to a state's focal points
    and validators about an item or one of its reports. Open until the state answers; asking again reopens it."""

    class State(models.TextChoices):
        OPEN = "open", pgettext_lazy("clarification", "Open")
        ANSWERED = "answered", pgettext_lazy("clarification", "Answered")

    implementation = models.ForeignKey(
        Implementation, on_delete=models.PROTECT, related_name="clarifications", verbose_name=_("implementation")
    )
    report = models.ForeignKey(
        ProgressReport,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="clarifications",
        verbose_name=_("progress report"),
    )
    state = models.CharField(
        pgettext_lazy("clarification", "state"), max_length=16, choices=State.choices, default=State.OPEN
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("asked by")
    )
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("clarification")
        verbose_name_plural = _("clarifications")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="answered") | Q(answered_at__isnull=False),
                name="clarification_answered_has_timestamp",
            ),
        ]
        indexes = [
            models.Index(fields=["implementation"], name="clarification_open", condition=Q(state="open")),
        ]

    def __str__(self) -> str:
        return f"{self.implementation_id} · {self.get_state_display()}"

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Clarifications are never deleted."))

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


class ClarificationMessage(models.Model):
    """One message of a clarification thread, written in either language; e-mailed to the other side."""

    clarification = models.ForeignKey(
        Clarification, on_delete=models.PROTECT, related_name="messages", verbose_name=_("clarification")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    from_state = models.BooleanField(
        _("from the state"), help_text=_("Written by the state's focal points or validator, not the secretariat.")
    )
    text = models.TextField(_("message"), validators=text_rules(CLARIFICATION_MAX_LENGTH))
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ARABIC)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    # Set when the e-mails to the other side were handed to the mail server (claimed once: never sent twice).
    notified_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("clarification message")
        verbose_name_plural = _("clarification messages")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="clarification_message_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.clarification_id} · {self.created_at:%Y-%m-%d %H:%M}"

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ValidationError(_("Clarification messages are never deleted."))


class Profile(models.Model):
    """Per-user preferences that are not tied to a designation (every role has a language)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracker_profile", verbose_name=_("user")
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, blank=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return str(self.user)


class OptionalReminderKind(models.TextChoices):
    """The reminder kinds a recipient may turn off (values of the reminders room's `Reminder.Kind`)."""

    STALLED_DIGEST = "stalled_digest", _("The monthly digest of stalled items")
    SECRETARIAT_DIGEST = "secretariat_digest", _("The weekly digest of missing progress reports")


class ReminderOptOut(models.Model):
    """One kind of reminder e-mail that a recipient chose not to receive: a user, or an address that has no account
    (the body's secretariat mailbox). Rules and links: tracker/core/reminder_preferences.py.

    Only the digests can be turned off. The kinds are those of the reminders room (`Reminder.Kind` values, kept as
    plain strings: the core names no room), and the database refuses any other: deadline and commitment reminders
    and the copies of escalated ones are how the follow-up works, so no preference can silence them.
    """

    Kind = OptionalReminderKind

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reminder_opt_outs",
        verbose_name=_("user"),
    )
    address = models.EmailField(
        _("address"), blank=True, help_text=_("For a recipient without an account, in lower case.")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("reminder opt-out")
        verbose_name_plural = _("reminder opt-outs")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], condition=Q(user__isnull=False), name="one_opt_out_per_user_and_kind"
            ),
            models.UniqueConstraint(
                fields=["address", "kind"], condition=Q(user__isnull=True), name="one_opt_out_per_address_and_kind"
            ),
            models.CheckConstraint(
                condition=Q(user__isnull=False, address="") | (Q(user__isnull=True) & ~Q(address="")),
                name="opt_out_of_a_user_or_an_address",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=OptionalReminderKind.values), name="opt_out_of_an_optional_kind_only"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.address} · {self.get_kind_display()}"


class Heartbeat(models.Model):
    """When a part of the background machinery last showed it was alive (the worker runs beat's heartbeat task)."""

    name = models.CharField(_("name"), max_length=32, unique=True)
    at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} · {self.at:%Y-%m-%d %H:%M}"


class PublicationConsent(models.Model):
    """Whether a member state agreed to publish its progress on a body's public recommendations, recorded by the
    secretariat with the date and who agreed. No row, or `publishes_progress` off, means not agreed: the state's
    items appear nowhere public (tracker.core.publication decides, for every public surface)."""

    body = models.ForeignKey(
        Body, on_delete=models.PROTECT, related_name="publication_consents", verbose_name=_("body")
    )
    member_state = models.ForeignKey(
        MemberState, on_delete=models.PROTECT, related_name="publication_consents", verbose_name=_("member state")
    )
    publishes_progress = models.BooleanField(
        _("agreed to publish its progress"),
        default=False,
        help_text=_("Status and progress of its items on the body's public recommendations. Untick to withdraw."),
    )
    publishes_narratives = models.BooleanField(
        _("agreed to publish its narratives"),
        default=False,
        help_text=_("Also what was done, in the words of its last submitted report."),
    )
    agreed_on = models.DateField(_("agreed on"), null=True, blank=True)
    agreed_by = models.CharField(
        _("agreed by"),
        max_length=255,
        blank=True,
        validators=[ProhibitNullCharactersValidator()],
        help_text=_("Who agreed on the state's behalf, e.g. the ministry and the reference of its letter."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("publication agreement")
        verbose_name_plural = _("publication agreements")
        ordering = ["body", "member_state"]
        constraints = [
            models.UniqueConstraint(fields=["body", "member_state"], name="one_publication_consent_per_state"),
            models.CheckConstraint(
                condition=Q(publishes_narratives=False) | Q(publishes_progress=True),
                name="consent_narratives_need_progress",
                violation_error_message=_("Narratives are published only with the progress they explain."),
            ),
            models.CheckConstraint(
                condition=Q(publishes_progress=False) | (Q(agreed_on__isnull=False) & ~Q(agreed_by="")),
                name="consent_agreement_is_dated_and_named",
                violation_error_message=_("Say when the state agreed and who agreed on its behalf."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.body} · {self.member_state}"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.publishes_narratives and not self.publishes_progress:
            errors["publishes_narratives"] = _("Narratives are published only with the progress they explain.")
        if self.publishes_progress and self.agreed_on is None:
            errors["agreed_on"] = _("Say when the state agreed.")
        if self.publishes_progress and not self.agreed_by.strip():
            errors["agreed_by"] = _("Say who agreed on the state's behalf.")
        if self.agreed_on and self.agreed_on > timezone.localdate():
            errors["agreed_on"] = _("The date of an agreement cannot be in the future.")
        if self.body_id and self.member_state_id and not self._state_is_a_member():
            errors["member_state"] = _("This state is not a member of the body.")
        if errors:
            raise ValidationError(errors)

    def _state_is_a_member(self) -> bool:
        return self.body.member_states.filter(pk=self.member_state_id).exists()


class CountMemo(models.Model):
    """Counts over many items kept between requests, with what makes them stale (tracker.core.memo): a memo is
    used only while no row it counted has changed since its `token` (the change token of incremental sync) and
    the time rules it counted have not moved (`valid_through`). Never edited by hand: a missing row is recounted."""

    name = models.CharField(_("name"), max_length=40)
    key = models.CharField(_("key"), max_length=64, help_text=_("What the counts depend on besides the rows."))
    state = models.PositiveIntegerField(_("member state id"), default=0, help_text=_("0: the whole scope."))
    counts = models.JSONField(_("counts"))
    token = models.BigIntegerField(_("change token"))
    valid_through = models.DateTimeField(_("valid through"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("count memo")
        verbose_name_plural = _("count memos")
        constraints = [models.UniqueConstraint(fields=["name", "key", "state"], name="one_count_memo")]

    def __str__(self) -> str:
        return f"{self.name} · {self.key[:8]} · {self.state}"
