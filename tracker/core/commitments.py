"""Commitments: what a review agreed someone will do about an item, by when, and what became of it.

A review outcome that agrees a solution names who does what by when: one or more commitments, owned by the
member state's focal points, the secretariat, or a partner organisation. The owner marks one done (with a note
and optional evidence); the secretariat confirms it, reopens it with a reason, or drops an open one with a reason.
"Late" is never stored: an open commitment is late once its due date has passed.

Every change goes through the services below (the review's outcome page, the focal point's form, the admin's
actions, the API), so those faces cannot disagree. Each service locks the item first, then keeps
`Implementation.open_commitment_due` (the earliest due date of the item's open commitments, read by the stalled
rule "a commitment of the last review is late") right in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Self

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tracker.core import memo
from tracker.core.history import record_item_history
from tracker.core.models import Commitment, Implementation, Recommendation, ReviewCycle, ReviewOutcome
from tracker.core.querysets import item_scope

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

    from tracker.core.models import Body, Organisation
    from tracker.core.permissions import Access

OPEN, DONE, DROPPED = Commitment.State.OPEN, Commitment.State.DONE, Commitment.State.DROPPED


class WrongState(ValidationError):
    """The commitment's state does not allow this change (already done, dropped, not done yet...). A
    ValidationError, so forms and the admin show it as a message; the API answers it with 409 Conflict."""


@dataclass
class CommitmentInput:
    """One commitment as the secretariat records it with a review outcome."""

    description: str
    due_date: date
    owner: str = Commitment.Owner.STATE
    organisation: Organisation | None = None


# --- Who may do what ------------------------------------------------------------------------------------


def may_mark_done(access: Access, commitment: Commitment) -> bool:
    """A state's commitment is marked done by whoever may report on its item (its focal points, the
    secretariat, a write token of the state); the secretariat marks the others on their owners' behalf.

    Needs `implementation__recommendation__meeting` loaded (select_related) to ask no query."""
    if commitment.owner == Commitment.Owner.STATE:
        return access.may_report_on(commitment.implementation)
    return access.can_manage and access.sees_item(commitment.implementation)


def ensure_may_manage(access: Access) -> None:
    if not access.can_manage:
        raise PermissionDenied(_("Only the secretariat records, confirms, reopens or drops commitments."))


# --- What each face may see -----------------------------------------------------------------------------


def visible_commitments(access: Access) -> QuerySet[Commitment]:
    """The commitments of the items the access sees: the same scope as the items (tracker.core.permissions)."""
    if access.all_states and access.sees_confidential:
        return Commitment.objects.all()
    return Commitment.objects.filter(implementation__in=Implementation.objects.filter(item_scope(access)).values("pk"))


def late_condition(today: date | None = None) -> Q:
    """Open past its due date."""
    return Q(state=OPEN, due_date__lt=today or timezone.localdate())


def with_lateness(commitments: QuerySet[Commitment], today: date | None = None) -> QuerySet[Commitment]:
    """Annotated with `late` (a boolean), computed in the database as `Commitment.is_late()` computes it."""
    return commitments.annotate(late=ExpressionWrapper(late_condition(today), output_field=BooleanField()))


def open_commitments(
    access: Access, state_ids: Iterable[int] | None = None, owners: Iterable[str] | None = None
) -> QuerySet[Commitment]:
    """Open commitments of followed-up items the access sees, earliest due (so the late ones) first."""
    items = Implementation.objects.current().visible_to(access)
    if state_ids is not None:
        items = items.filter(member_state_id__in=list(state_ids))
    commitments = Commitment.objects.filter(state=OPEN, implementation__in=items.values("pk"))
    if owners is not None:
        commitments = commitments.filter(owner__in=list(owners))
    return commitments.select_related(
        "implementation__recommendation__meeting", "implementation__member_state", "organisation"
    ).order_by("due_date", "pk")


def item_commitments(implementation: Implementation) -> QuerySet[Commitment]:
    """Every commitment of an item, open ones first, then by due date; with their evidence files."""
    return (
        implementation.commitments.select_related("organisation", "outcome__cycle")
        .prefetch_related("evidence")
        .order_by(ExpressionWrapper(~Q(state=OPEN), output_field=BooleanField()), "due_date", "pk")
    )


# --- Implementation.open_commitment_due -----------------------------------------------------------------


def refresh_open_commitment_due(implementation_id: int, reason: str, user_id: int | None = None) -> bool:
    """Set the item's `open_commitment_due` to the earliest due date of its open commitments (None if none), in
    one UPDATE that touches the row only when the value changes; then the item's history says why. Call with the
    item locked (as the services do): the earliest date is read from committed commitments. True if it changed."""
    earliest = Commitment.objects.filter(implementation_id=implementation_id, state=OPEN).aggregate(
        earliest=Min("due_date")
    )["earliest"]
    item = Implementation.objects.filter(pk=implementation_id)
    # exclude() keeps NULL rows when comparing with a date, and compares with IS NULL when there is none.
    changed = item.exclude(open_commitment_due=earliest).update(open_commitment_due=earliest, updated_at=timezone.now())
    if changed:
        record_item_history(item, reason, user_id)
    return bool(changed)


def _lock_item(implementation_id: int) -> None:
    """Changes to the commitments of one item take turns: each reads the earliest due date its predecessor left."""
    list(Implementation.objects.select_for_update().filter(pk=implementation_id).values_list("pk", flat=True))


def _locked(commitment: Commitment) -> Commitment:
    """The commitment read again under lock (its item locked first), with what the permission check reads."""
    implementation_id = Commitment.objects.filter(pk=commitment.pk).values_list("implementation_id", flat=True).get()
    _lock_item(implementation_id)
    return (
        Commitment.objects.select_for_update(of=("self",))
        .select_related("implementation__recommendation__meeting", "implementation__member_state")
        .get(pk=commitment.pk)
    )


def _save(commitment: Commitment, by: User, why: str, rename: dict[str, str] | None = None) -> None:
    """Validate (model rules, the field names of the caller's form) and save, crediting `by` in the history."""
    try:
        commitment.full_clean(exclude=["outcome", "implementation", "created_by", "done_by", "confirmed_by"])
    except ValidationError as error:
        renamed = {(rename or {}).get(key, key): value for key, value in error.message_dict.items()}
        raise ValidationError(renamed) from None
    commitment._history_user = by  # type: ignore[attr-defined]  # read by simple-history
    commitment._change_reason = why  # type: ignore[attr-defined]
    commitment.save()
    refresh_open_commitment_due(commitment.implementation_id, f"Commitment {commitment.pk}: {why}", by.pk)


def _required(text: str, name: str, message: str) -> str:
    if not (text or "").strip():
        raise ValidationError({name: message})
    return text.strip()


# --- Recording ------------------------------------------------------------------------------------------


def check_input(data: CommitmentInput, today: date | None = None) -> None:
    """The rules of a new commitment, field by field (the outcome form shows them next to each row)."""
    errors: dict[str, str] = {}
    if not (data.description or "").strip():
        errors["description"] = _("Say what is to be done.")
    if data.owner not in Commitment.Owner.values:
        errors["owner"] = _("Choose who follows up.")
    elif data.owner == Commitment.Owner.PARTNER and data.organisation is None:
        errors["organisation"] = _("Name the partner organisation that follows up.")
    elif data.owner != Commitment.Owner.PARTNER and data.organisation is not None:
        errors["organisation"] = _("Name an organisation only when a partner organisation follows up.")
    if data.due_date is None:
        errors["due_date"] = _("Say by when.")
    elif data.due_date < (today or timezone.localdate()):
        errors["due_date"] = _("This date has passed: choose today or a later day.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def add_commitments(
    outcome: ReviewOutcome, by: User, access: Access, commitments: Iterable[CommitmentInput]
) -> list[Commitment]:
    """Record commitments that carry out the solution an outcome agreed (secretariat only)."""
    ensure_may_manage(access)
    inputs = list(commitments)
    if not inputs:
        return []
    if not outcome.records_solution:
        raise ValidationError(
            {"solution": _("Commitments carry out an agreed solution: write the solution agreed first.")}
        )
    _lock_item(outcome.implementation_id)
    created = []
    for data in inputs:
        check_input(data)
        commitment = Commitment(
            outcome=outcome,
            implementation_id=outcome.implementation_id,
            description=data.description.strip(),
            owner=data.owner,
            organisation=data.organisation,
            due_date=data.due_date,
            created_by=by,
        )
        commitment.full_clean(exclude=["outcome", "implementation", "created_by"])
        commitment._history_user = by  # type: ignore[attr-defined]
        commitment.save()
        created.append(commitment)
    refresh_open_commitment_due(outcome.implementation_id, f"Review outcome {outcome.pk}: commitments", by.pk)
    return created


@transaction.atomic
def record_outcome_with_commitments(
    implementation: Implementation,
    recorded_by: User,
    access: Access,
    commitments: Iterable[CommitmentInput] = (),
    **outcome_fields: Any,
) -> ReviewOutcome:
    """Record a review outcome (tracker.core.services.record_outcome) and the commitments it agrees, together:
    if a commitment is refused, the outcome is not recorded either."""
    from tracker.core.services import record_outcome

    outcome = record_outcome(implementation, recorded_by, access, **outcome_fields)
    add_commitments(outcome, recorded_by, access, commitments)
    return outcome


# --- What becomes of a commitment -----------------------------------------------------------------------


@transaction.atomic
def mark_done(
    commitment: Commitment, by: User, access: Access, note: str, files: Iterable[UploadedFile] = ()
) -> Commitment:
    """The owner says it is done, with a note and optional evidence `files` (under the rules of
    tracker.core.evidence; refused files are reported under "evidence", a blank note under "note"). A commitment
    reopened before keeps its earlier files."""
    locked = _locked(commitment)
    if not may_mark_done(access, locked):
        raise PermissionDenied(_("You may not mark this commitment done."))
    if locked.state == DONE:
        raise WrongState(_("This commitment is already marked done."), code="done")
    if locked.state == DROPPED:
        raise WrongState(_("This commitment was dropped: it cannot be marked done."), code="dropped")
    locked.done_note = _required(note, "note", _("Say what was done."))
    attach_evidence(locked, files, by)
    locked.state, locked.done_at, locked.done_by = DONE, timezone.now(), by
    locked.reopened_reason = ""  # answered by this note; the history keeps it
    _save(locked, by, "marked done", rename={"done_note": "note"})
    return locked


def attach_evidence(commitment: Commitment, uploaded_files: Iterable[UploadedFile], author: User) -> None:
    """Store evidence files on a commitment: every file checked (type by content, no macros, no inflating archive,
    size, the quotas of the commitment and of its member state) before any is written."""
    from tracker.core.evidence import check_upload, store

    files = list(uploaded_files)
    if not files:
        return
    with transaction.atomic():
        kinds = check_upload(commitment, files)
        for uploaded, kind in zip(files, kinds, strict=True):
            store(uploaded, kind, author, commitment=commitment)


@transaction.atomic
def confirm(commitment: Commitment, by: User, access: Access) -> Commitment:
    """The secretariat confirms that a commitment marked done is done."""
    ensure_may_manage(access)
    locked = _locked(commitment)
    if locked.state != DONE:
        raise WrongState(_("Only a commitment marked done can be confirmed."), code="not_done")
    if locked.confirmed_at is not None:
        raise WrongState(_("This commitment is already confirmed."), code="confirmed")
    locked.confirmed_at, locked.confirmed_by = timezone.now(), by
    _save(locked, by, "confirmed")
    return locked


@transaction.atomic
def reopen(commitment: Commitment, by: User, access: Access, reason: str) -> Commitment:
    """The secretariat finds a commitment marked done is not done: open again, with the reason its owner sees
    (the note stays, to be completed; the history keeps who marked it done and when)."""
    ensure_may_manage(access)
    locked = _locked(commitment)
    if locked.state != DONE:
        raise WrongState(_("Only a commitment marked done can be reopened."), code="not_done")
    locked.reopened_reason = _required(reason, "reason", _("Say why the commitment is reopened."))
    locked.state, locked.done_at, locked.done_by = OPEN, None, None
    locked.confirmed_at, locked.confirmed_by = None, None
    _save(locked, by, "reopened", rename={"reopened_reason": "reason"})
    return locked


@transaction.atomic
def drop(commitment: Commitment, by: User, access: Access, reason: str) -> Commitment:
    """The secretariat drops an open commitment that no longer makes sense, saying why."""
    ensure_may_manage(access)
    locked = _locked(commitment)
    if locked.state != OPEN:
        raise WrongState(_("Only an open commitment can be dropped."), code="not_open")
    locked.dropped_reason = _required(reason, "reason", _("Say why the commitment is dropped."))
    locked.state = DROPPED
    _save(locked, by, "dropped", rename={"dropped_reason": "reason"})
    return locked


# --- "Commitments from the last review" -----------------------------------------------------------------


@dataclass
class Counts:
    """Done (marked done, confirmed or not), open (not late), late (open past due), dropped."""

    done: int = 0
    open: int = 0
    late: int = 0
    dropped: int = 0

    @property
    def total(self) -> int:
        return self.done + self.open + self.late + self.dropped

    def add(self, other: Counts) -> None:
        self.done += other.done
        self.open += other.open
        self.late += other.late
        self.dropped += other.dropped

    def as_record(self) -> dict[str, int]:
        return {"done": self.done, "open": self.open, "late": self.late, "dropped": self.dropped}


def _arabic() -> bool:
    return (get_language() or "en").startswith("ar")


@dataclass
class StateRow(Counts):
    iso_code: str = ""
    name_en: str = ""
    name_ar: str = ""

    @property
    def name(self) -> str:
        return (self.name_ar if _arabic() else self.name_en) or self.name_en or self.name_ar

    def as_record(self) -> dict[str, Any]:
        return {**super().as_record(), "iso_code": self.iso_code, "name_en": self.name_en, "name_ar": self.name_ar}


@dataclass
class RecommendationRow(Counts):
    id: int = 0
    reference: str = ""
    text_en: str = ""
    text_ar: str = ""

    @property
    def text(self) -> str:
        return (self.text_ar if _arabic() else self.text_en) or self.text_en or self.text_ar

    def as_record(self) -> dict[str, Any]:
        return {
            **super().as_record(),
            "id": self.id,
            "reference": self.reference,
            "text_en": self.text_en,
            "text_ar": self.text_ar,
        }


@dataclass
class CommitmentSummary:
    """Commitments agreed in one review (the outcomes recorded in a cycle): totals, per member state and per
    recommendation, late first. `as_record()` is plain JSON, so a cycle's close can freeze it; `from_record`
    reads it back for the template."""

    cycle_id: int | None = None
    cycle_name_en: str = ""
    cycle_name_ar: str = ""
    today: date | None = None
    totals: Counts = field(default_factory=Counts)
    states: list[StateRow] = field(default_factory=list)
    recommendations: list[RecommendationRow] = field(default_factory=list)
    more_recommendations: int = 0  # rows left out of `recommendations` (see RECOMMENDATION_ROWS)

    @property
    def cycle_name(self) -> str:
        return (self.cycle_name_ar if _arabic() else self.cycle_name_en) or self.cycle_name_en or self.cycle_name_ar

    def __bool__(self) -> bool:
        return self.totals.total > 0

    def as_record(self) -> dict[str, Any]:
        return {
            "cycle_id": self.cycle_id,
            "cycle_name_en": self.cycle_name_en,
            "cycle_name_ar": self.cycle_name_ar,
            "today": self.today.isoformat() if self.today else None,
            "totals": self.totals.as_record(),
            "states": [row.as_record() for row in self.states],
            "recommendations": [row.as_record() for row in self.recommendations],
            "more_recommendations": self.more_recommendations,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        return cls(
            cycle_id=record["cycle_id"],
            cycle_name_en=record["cycle_name_en"],
            cycle_name_ar=record["cycle_name_ar"],
            today=date.fromisoformat(record["today"]) if record.get("today") else None,
            totals=Counts(**record["totals"]),
            states=[StateRow(**row) for row in record["states"]],
            recommendations=[RecommendationRow(**row) for row in record["recommendations"]],
            more_recommendations=record.get("more_recommendations", 0),
        )


#: Per-recommendation rows a summary keeps (late first).
RECOMMENDATION_ROWS = 50


def last_review(body: Body, before: ReviewCycle | None = None) -> ReviewCycle | None:
    """The body's most recently closed cycle; with `before`, the last one closed before that cycle (the review
    whose commitments that cycle's report opens with)."""
    closed = ReviewCycle.objects.filter(body=body, state=ReviewCycle.State.CLOSED)
    if before is not None:
        closed = closed.exclude(pk=before.pk)
        if before.closed_at is not None:
            closed = closed.filter(closed_at__lte=before.closed_at)
    return closed.order_by("-closed_at", "-pk").first()


def _count_columns(today: date) -> dict[str, Count]:
    return {
        "n_done": Count("pk", filter=Q(state=DONE)),
        "n_open": Count("pk", filter=Q(state=OPEN, due_date__gte=today)),
        "n_late": Count("pk", filter=Q(state=OPEN, due_date__lt=today)),
        "n_dropped": Count("pk", filter=Q(state=DROPPED)),
    }


def _counts(row: dict[str, Any]) -> dict[str, int]:
    return {"done": row["n_done"], "open": row["n_open"], "late": row["n_late"], "dropped": row["n_dropped"]}


def _late_first(row: Counts) -> tuple[int, int]:
    return (-row.late, -row.open)


COMMITMENTS_MEMO = "commitments"


def kept_commitment_summary(body: Body, before: ReviewCycle | None = None) -> CommitmentSummary:
    """`commitment_summary` of the body's whole last review, kept in the database (tracker.core.memo) until a
    commitment, an outcome or a recommendation is written, or the day ends (lateness is judged by the day)."""
    now = timezone.now()
    today = timezone.localdate(now)
    cycle = last_review(body, before)
    if cycle is None:
        return CommitmentSummary(today=today)
    key = memo.memo_key(COMMITMENTS_MEMO, cycle.pk, cycle.name_en, cycle.name_ar, today.isoformat())
    record = memo.kept(
        COMMITMENTS_MEMO,
        key,
        lambda: commitment_summary(body, cycle=cycle, today=today).as_record(),
        reads=(Commitment, ReviewOutcome, Recommendation),
        valid_through=memo.end_of_day(now),
    )
    return CommitmentSummary.from_record(record)


def commitment_summary(
    body: Body,
    *,
    cycle: ReviewCycle | None = None,
    before: ReviewCycle | None = None,
    items: QuerySet[Implementation] | None = None,
    today: date | None = None,
) -> CommitmentSummary:
    """ "Commitments from the last review: done / open / late", per member state and per recommendation.

    The review is `cycle` if given, else the body's last closed cycle (closed before `before`, if given): its
    commitments are those of the outcomes recorded in it. `items` narrows them to some items (the review view's
    filters). Three queries whatever the number of commitments: the cycle, then one aggregate per table."""
    today = today or timezone.localdate()
    if cycle is None:
        cycle = last_review(body, before)
    if cycle is None:
        return CommitmentSummary(today=today)
    commitments = Commitment.objects.filter(outcome__cycle=cycle)
    if items is not None:
        commitments = commitments.filter(implementation__in=items.values("pk"))
    columns = _count_columns(today)
    state = "implementation__member_state__"
    per_state = (
        commitments.values(f"{state}iso_code", f"{state}name_en", f"{state}name_ar").annotate(**columns).order_by()
    )
    rec = "implementation__recommendation__"
    # Late first, then open, then in the recommendations' order; only the first rows are fetched.
    per_recommendation = list(
        commitments.values(f"{rec}id", f"{rec}reference", f"{rec}position", f"{rec}text_en", f"{rec}text_ar")
        .annotate(**columns)
        .order_by("-n_late", "-n_open", f"{rec}position", f"{rec}reference")[:RECOMMENDATION_ROWS]
    )
    more = 0
    if len(per_recommendation) == RECOMMENDATION_ROWS:  # a fourth query, only when there may be more
        more = commitments.values(f"{rec}id").distinct().count() - RECOMMENDATION_ROWS
    states = [
        StateRow(
            iso_code=row[f"{state}iso_code"],
            name_en=row[f"{state}name_en"],
            name_ar=row[f"{state}name_ar"],
            **_counts(row),
        )
        for row in per_state
    ]
    recommendations = [
        RecommendationRow(
            id=row[f"{rec}id"],
            reference=row[f"{rec}reference"],
            text_en=row[f"{rec}text_en"],
            text_ar=row[f"{rec}text_ar"],
            **_counts(row),
        )
        for row in per_recommendation
    ]
    states.sort(key=lambda row: (*_late_first(row), row.name_en))
    # A region with thousands of recommendations: the page, the report and the frozen record keep the first
    # rows (late first) and say how many more there are.
    totals = Counts()
    for row in states:
        totals.add(row)
    return CommitmentSummary(
        cycle_id=cycle.pk,
        cycle_name_en=cycle.name_en,
        cycle_name_ar=cycle.name_ar,
        today=today,
        totals=totals,
        states=states,
        recommendations=recommendations,
        more_recommendations=more,
    )
