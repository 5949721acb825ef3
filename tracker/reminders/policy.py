"""What is due: the reminder policy of each body, computed from the database alone.

`due(now)` answers "which e-mails should exist right now" as unsaved Reminder rows keyed by the unique key
(recipient, scope, kind, stage). `plan()` inserts them (a second run, a second beat or a retry inserts
nothing); the sender calls `due()` again before sending, so a row that is no longer in the answer (report
submitted, deadline moved, focal point replaced, cycle closed, period over) is cancelled, never sent.

Stages:
- before the deadline: the latest offset reached ("EG-3d-20261201"); the deadline is part of the stage, so
  a moved deadline starts its own reminders;
- overdue: round n is due n x `overdue_every_days` after the deadline, at most `overdue_max_reminders`;
  from `escalate_after_days` overdue the alternates and the secretariat are copied;
- the monthly stalled digest (scope "2026-11") and the weekly secretariat digest (scope "2026-W47");
- national validation (tracker/core/validation.py): an item whose report awaits the state's validator is not
  missing for its focal points (they did their part), so they are not chased for it; the state's active
  validators are reminded of it instead (`VALIDATION_DUE`, then `VALIDATION_OVERDUE`, same stages, scope and
  escalation as reports, the state's primary focal point and the secretariat copied on escalation) until they
  approve or return it. With no active validator the state's primary focal point is reminded, the secretariat
  copied (it registers validators); with no focal point either, the secretariat: never lost silently. The
  weekly secretariat digest lists them state by state, apart from the missing reports;
- commitments (scope "commitment-7"): the same policy read against the commitment's due date ("3d-20261201",
  "o2-20261201"), while it is open. The owner is reminded: a state's primary focal points (alternates and
  the secretariat copied on escalation), the secretariat, or a partner organisation by its address (the
  secretariat copied). When nobody of the owner can be reached, the secretariat is reminded instead.
Only the current stage is due: after an outage the job catches up with the latest one, not every missed one.

A recipient who turned a digest off (tracker/core/reminder_preferences.py) is due no row of it, so the sender's
re-check cancels one planned before the choice. Deadline and commitment reminders cannot be turned off.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils import timezone

from tracker.core.models import Body, Commitment, FocalPointDesignation, Implementation, MemberState, ReviewCycle
from tracker.core.permissions import SECRETARIAT_GROUP
from tracker.core.related import with_related
from tracker.core.reminder_preferences import OptOuts
from tracker.reminders.models import Reminder

Kind = Reminder.Kind
FP = FocalPointDesignation


@dataclass(frozen=True)
class CycleStage:
    kind: str
    label: str  # the stage without the state: "14d-20261201", "o2-20261201"
    escalated: bool = False
    overdue_days: int = 0


def cycle_stage(cycle, body, today):
    """The reminder stage of an open cycle on `today`, or None when nothing is due that day."""
    return deadline_stage(cycle.report_deadline, body, today, Kind.BEFORE_DEADLINE, Kind.OVERDUE)


def validation_stage(cycle, body, today):
    """The stage of the validators' reminders: the report deadline's, since an approval counts only by then."""
    return deadline_stage(cycle.report_deadline, body, today, Kind.VALIDATION_DUE, Kind.VALIDATION_OVERDUE)


def commitment_stage(commitment, body, today):
    """The reminder stage of an open commitment on `today`: the body's policy, read against its due date."""
    return deadline_stage(commitment.due_date, body, today, Kind.COMMITMENT_DUE, Kind.COMMITMENT_LATE)


def deadline_stage(deadline, body, today, before_kind, overdue_kind):
    """The latest stage reached on `today` for a deadline under the body's policy, or None."""
    stamp = f"{deadline:%Y%m%d}"
    if today <= deadline:
        days_left = (deadline - today).days
        reached = [offset for offset in body.reminder_offsets() if offset >= days_left]
        if not reached:
            return None
        return CycleStage(before_kind, f"{min(reached)}d-{stamp}")
    days_over = (today - deadline).days
    rounds = min(days_over // body.overdue_every_days, body.overdue_max_reminders)
    if rounds < 1:
        return None
    nominal_days = rounds * body.overdue_every_days  # escalation follows the round, not the catch-up day
    return CycleStage(
        overdue_kind,
        f"o{rounds}-{stamp}",
        escalated=nominal_days >= body.escalate_after_days,
        overdue_days=nominal_days,
    )


def month_scope(today):
    return f"{today:%Y-%m}"


def week_scope(today):
    year, week, _ = today.isocalendar()
    return f"{year}-W{week:02d}"


def cycle_scope(cycle_id):
    return f"cycle-{cycle_id}"


def commitment_scope(commitment_id):
    return f"commitment-{commitment_id}"


def key_of(row):
    """The unique key: a user, or (for recipients without an account) an address, with scope, kind, stage."""
    return (row.recipient_id, row.recipient_email, row.scope, row.kind, row.stage)


def missing_by_state(cycles):
    """{(body id, state id)} of states with unsettled current items and no submitted report in the open cycle.

    A draft does not count: only `last_report_cycle`, which a submitted report sets, does. A report awaiting
    national validation is not missing either: the focal points did their part, the validator is reminded.
    """
    pairs = set()
    for cycle in cycles:
        rows = (
            Implementation.objects.current()
            .unsettled()
            .filter(recommendation__meeting__body_id=cycle.body_id, awaiting_validation_since__isnull=True)
            .exclude(last_report_cycle=cycle.pk)
            .values_list("member_state_id", flat=True)
            .distinct()
        )
        pairs.update((cycle.body_id, state_id) for state_id in rows)
    return pairs


def awaiting_validation_by_state(cycles):
    """{(body id, state id)} of states with current items whose report awaits national validation and that have
    no report counted in the open cycle yet (one approved earlier in the cycle already counts: no deadline)."""
    pairs = set()
    for cycle in cycles:
        rows = (
            Implementation.objects.current()
            .filter(recommendation__meeting__body_id=cycle.body_id, awaiting_validation_since__isnull=False)
            .exclude(last_report_cycle=cycle.pk)
            .values_list("member_state_id", flat=True)
            .distinct()
        )
        pairs.update((cycle.body_id, state_id) for state_id in rows)
    return pairs


def stalled_by_state():
    rows = Implementation.objects.stalled().values_list("recommendation__meeting__body_id", "member_state_id")
    return set(rows.distinct())


def secretariat_users():
    users = get_user_model().objects.filter(groups__name=SECRETARIAT_GROUP, is_active=True).exclude(email="")
    return list(users.select_related("tracker_profile").order_by("pk"))


# Without a language of its own, the secretariat reads English (as on its digest).
SECRETARIAT_LANGUAGE = "en"


def user_language(user, default=SECRETARIAT_LANGUAGE):
    profile = getattr(user, "tracker_profile", None)
    return (profile.language if profile else "") or default


def mailbox_language(staff):
    """The body's secretariat mailbox has no profile: it reads the first officer's language, else English."""
    return user_language(staff[0]) if staff else SECRETARIAT_LANGUAGE


def secretariat_addresses(body, staff):
    """Who is copied for the secretariat: the body's mailbox, or else the Secretariat group's members."""
    if body.secretariat_email:
        return [body.secretariat_email]
    return [user.email for user in staff]


class Designations:
    """Active designations grouped by (body, state): the focal points, primaries first, and apart from them the
    national validators, who approve reports and write none, so no focal point reminder ever goes to them."""

    def __init__(self, today):
        rows = FP.objects.active(today).filter(user__is_active=True).select_related("user").order_by("role", "pk")
        rows = with_related(rows, "member_state")  # one instance per state, shared by its designations
        self.by_pair = defaultdict(list)  # focal points only
        self.validators_by_pair = defaultdict(list)
        for designation in rows:  # "alternate" < "primary": reorder below
            pair = (designation.body_id, designation.member_state_id)
            if designation.role == FP.Role.VALIDATOR:
                self.validators_by_pair[pair].append(designation)
            else:
                self.by_pair[pair].append(designation)
        for items in self.by_pair.values():
            items.sort(key=lambda d: (d.role != FP.Role.PRIMARY, d.pk))

    def of(self, body_id, state_id):
        """The state's focal points (primary and alternates), never its validators."""
        return self.by_pair.get((body_id, state_id), [])

    def validators(self, body_id, state_id):
        return self.validators_by_pair.get((body_id, state_id), [])

    def primaries(self, body_id, state_id):
        """Who is reminded: the primary focal point, or the alternates when no primary is designated."""
        everyone = self.of(body_id, state_id)
        primary = [d for d in everyone if d.role == FP.Role.PRIMARY]
        return primary or everyone

    def alternates(self, body_id, state_id):
        return [d for d in self.of(body_id, state_id) if d.role == FP.Role.ALTERNATE]


def _row(to, body, kind, scope, stage, *, state=None, cycle=None, commitment=None, cc=(), language=None, now=None):
    """An unsaved row to `to`: a designation (its user, in its language), a user, or an address (no account)."""
    if isinstance(to, str):
        user, address = None, to
    else:
        user, address = getattr(to, "user", to), ""
    if language is None:
        language = to.preferred_language
    return Reminder(
        recipient=user,
        recipient_email=address,
        body=body,
        member_state=state,
        cycle=cycle,
        commitment=commitment,
        kind=kind,
        scope=scope,
        stage=stage,
        language=language,
        cc=sorted(set(cc) - {user.email if user else address} - {""}),
        due_at=now,
    )


def _cycle_rows(cycle, today, designations, missing, staff, now):
    body = cycle.body
    stage = cycle_stage(cycle, body, today)
    if stage is None:
        return
    for body_id, state_id in sorted(missing):
        if body_id != body.pk:
            continue
        alternates = designations.alternates(body_id, state_id)
        for designation in designations.primaries(body_id, state_id):
            cc = []
            if stage.escalated:
                cc = [d.user.email for d in alternates if d.user_id != designation.user_id]
                cc += secretariat_addresses(body, staff)
            yield _row(
                designation,
                body,
                stage.kind,
                cycle_scope(cycle.pk),
                f"{designation.member_state.iso_code}-{stage.label}",
                state=designation.member_state,
                cycle=cycle,
                cc=cc,
                now=now,
            )


def _validation_recipients(body, state_id, stage, designations, staff):
    """(recipient, cc) of one state's validation reminder: its validators, or whoever can get one designated."""
    secretariat = secretariat_addresses(body, staff)
    validators = designations.validators(body.pk, state_id)
    if validators:
        cc = []
        if stage.escalated:
            cc = [d.user.email for d in designations.primaries(body.pk, state_id)] + secretariat
        for designation in validators:
            yield designation, cc
        return
    # Nobody can approve these reports: the focal points who sent them learn it, with the secretariat, which
    # registers validators (or reports for the state); without a focal point, the secretariat alone.
    primaries = designations.primaries(body.pk, state_id)
    for designation in primaries:
        yield designation, secretariat
    if not primaries:
        for recipient, _language in _to_the_secretariat(body, staff):
            yield recipient, []


def _validation_rows(cycle, today, designations, awaiting, states, staff, now):
    body = cycle.body
    stage = validation_stage(cycle, body, today)
    if stage is None:
        return
    for body_id, state_id in sorted(awaiting):
        if body_id != body.pk:
            continue
        state = states[state_id]
        for recipient, cc in _validation_recipients(body, state_id, stage, designations, staff):
            yield _row(
                recipient,
                body,
                stage.kind,
                cycle_scope(cycle.pk),
                f"{state.iso_code}-{stage.label}",
                state=state,
                cycle=cycle,
                cc=cc,
                language=_language_of(recipient, staff),
                now=now,
            )


def _language_of(recipient, staff):
    """A designation reads its own language, an officer their profile's, the body's mailbox the secretariat's."""
    if isinstance(recipient, FP):
        return recipient.preferred_language
    if isinstance(recipient, str):
        return mailbox_language(staff)
    return user_language(recipient)


def _stalled_rows(bodies, today, designations, stalled, now):
    for body_id, state_id in sorted(stalled):
        for designation in designations.of(body_id, state_id):
            yield _row(
                designation,
                bodies[body_id],
                Kind.STALLED_DIGEST,
                month_scope(today),
                f"{designation.member_state.iso_code}-b{body_id}",
                state=designation.member_state,
                now=now,
            )


def _secretariat_rows(bodies, today, designations, open_cycles, missing, staff, now):
    """Weekly, per body: what is missing state by state (reports in the open cycle, focal points), and what
    awaits national validation (`missing` holds those pairs too).

    To each officer, and to the body's shared mailbox as a recipient of its own (not a copy on an officer's
    e-mail), so the mailbox's e-mail links to its own choice and an officer's to theirs.
    """
    for body in bodies.values():
        cycle = open_cycles.get(body.pk)
        has_missing = cycle is not None and any(body_id == body.pk for body_id, _ in missing)
        if not has_missing:
            continue
        recipients = [(user, user_language(user)) for user in staff]
        mailbox = body.secretariat_email
        if mailbox and mailbox.lower() not in {user.email.lower() for user in staff}:
            recipients.append((mailbox, mailbox_language(staff)))
        for recipient, language in recipients:
            yield _row(
                recipient,
                body,
                Kind.SECRETARIAT_DIGEST,
                week_scope(today),
                f"b{body.pk}",
                cycle=cycle,
                language=language,
                now=now,
            )


FAILURE_LOOKBACK = timedelta(days=1)


def failed_lately(now):
    """Ids of the bodies whose reminders failed for good in the last day (notices about failures excluded)."""
    failed = Reminder.objects.filter(state=Reminder.State.FAILED, failed_at__gte=now - FAILURE_LOOKBACK)
    return set(failed.exclude(kind=Kind.DELIVERY_FAILED).values_list("body_id", flat=True))


def _delivery_failure_rows(bodies, body_ids, today, staff, now):
    """Daily, per body whose reminders failed for good: a notice to its secretariat, which can fix and resend them."""
    for body_id in sorted(body_ids):
        body = bodies[body_id]
        for recipient, language in _to_the_secretariat(body, staff):
            yield _row(
                recipient, body, Kind.DELIVERY_FAILED, f"{today:%Y-%m-%d}", f"b{body.pk}", language=language, now=now
            )


def open_commitments(bodies, today):
    """Open commitments of current items that may have a reminder due on `today`, each with its `body_id`."""
    horizon = max((max(body.reminder_offsets(), default=0) for body in bodies.values()), default=0)
    rows = Commitment.objects.filter(
        state=Commitment.State.OPEN,
        due_date__lte=today + timedelta(days=horizon),
        implementation__in=Implementation.objects.current(),
    )
    rows = rows.annotate(body_id=F("implementation__recommendation__meeting__body_id"))
    return rows.select_related("implementation__member_state", "organisation").order_by("due_date", "pk")


def _to_the_secretariat(body, staff):
    """(recipient, language) of the secretariat: the body's mailbox, or else each member of the group."""
    if body.secretariat_email:
        yield body.secretariat_email, mailbox_language(staff)
        return
    for user in staff:
        yield user, user_language(user)


def _commitment_recipients(commitment, body, stage, designations, staff):
    """(recipient, language, cc) of one commitment's reminder, by owner."""
    Owner = Commitment.Owner
    state_id = commitment.implementation.member_state_id
    secretariat = secretariat_addresses(body, staff)
    if commitment.owner == Owner.STATE and designations.of(body.pk, state_id):
        alternates = designations.alternates(body.pk, state_id)
        for designation in designations.primaries(body.pk, state_id):
            cc = []
            if stage.escalated:
                cc = [d.user.email for d in alternates if d.user_id != designation.user_id] + secretariat
            yield designation, designation.preferred_language, cc
        return
    organisation = commitment.organisation
    if commitment.owner == Owner.PARTNER and organisation.email:
        yield organisation.email, organisation.language, secretariat
        return
    # The secretariat's own commitments, and those whose owner has nobody to write to: never chased by nobody.
    for recipient, language in _to_the_secretariat(body, staff):
        yield recipient, language, []


def _commitment_rows(commitments, bodies, today, designations, staff, now):
    for commitment in commitments:
        body = bodies[commitment.body_id]
        stage = commitment_stage(commitment, body, today)
        if stage is None:
            continue
        for recipient, language, cc in _commitment_recipients(commitment, body, stage, designations, staff):
            yield _row(
                recipient,
                body,
                stage.kind,
                commitment_scope(commitment.pk),
                stage.label,
                state=commitment.implementation.member_state,
                commitment=commitment,
                cc=cc,
                language=language,
                now=now,
            )


@dataclass
class Plan:
    """What is due at one moment, and what it was computed from (the sender reuses both)."""

    rows: dict  # unique key -> unsaved Reminder
    designations: Designations
    bodies: dict
    open_cycles: dict  # body id -> open cycle
    staff: list
    member_states: dict = field(default_factory=dict)  # body id -> [MemberState]

    def expects(self, reminder):
        return key_of(reminder) in self.rows

    def planned(self, reminder):
        return self.rows.get(key_of(reminder))

    @cached_property
    def known(self):
        """The bodies, member states and open cycles it was computed from, by primary key, for `with_related`: the
        sender's rows share them instead of reading them again for every batch."""
        states = {state.pk: state for members in self.member_states.values() for state in members}
        cycles = {cycle.pk: cycle for cycle in self.open_cycles.values()}
        return {"body": self.bodies, "member_state": states, "cycle": cycles}


def due(now=None):
    """A Plan of everything due at `now`, keyed by the unique key. A constant number of queries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    bodies = {body.pk: body for body in Body.objects.all()}
    open_cycles = {}
    for cycle in ReviewCycle.objects.filter(state=ReviewCycle.State.OPEN):
        cycle.body = bodies[cycle.body_id]
        open_cycles[cycle.body_id] = cycle
    designations = Designations(today)
    missing = missing_by_state(open_cycles.values())
    awaiting = awaiting_validation_by_state(open_cycles.values())
    states = MemberState.objects.in_bulk({state_id for _, state_id in awaiting}) if awaiting else {}
    staff = secretariat_users()
    rows = []
    for cycle in open_cycles.values():
        rows.extend(_cycle_rows(cycle, today, designations, missing, staff, now))
        rows.extend(_validation_rows(cycle, today, designations, awaiting, states, staff, now))
    rows.extend(_stalled_rows(bodies, today, designations, stalled_by_state(), now))
    rows.extend(_secretariat_rows(bodies, today, designations, open_cycles, missing | awaiting, staff, now))
    rows.extend(_commitment_rows(open_commitments(bodies, today), bodies, today, designations, staff, now))
    rows.extend(_delivery_failure_rows(bodies, failed_lately(now), today, staff, now))
    opt_outs = OptOuts.load()
    rows = [row for row in rows if not opt_outs.silences(row.recipient_id, row.recipient_email, row.kind)]
    members = defaultdict(list)
    member_states = MemberState.objects.in_bulk()  # once each, not once per body that has it
    for body_id, state_id in Body.member_states.through.objects.values_list("body_id", "memberstate_id"):
        members[body_id].append(member_states[state_id])
    return Plan({key_of(row): row for row in rows}, designations, bodies, open_cycles, staff, members)


def plan(now=None, batch_size=2000):
    """Write what is due as rows; existing keys are left alone (ON CONFLICT DO NOTHING). Returns the new count."""
    return write(due(now), batch_size)


def write(due_now, batch_size=2000):
    """Write the rows of a Plan (`due()`): a run writes and sends from one plan instead of computing it twice."""
    rows = list(due_now.rows.values())
    before = Reminder.objects.count()
    Reminder.objects.bulk_create(rows, batch_size=batch_size, ignore_conflicts=True)
    return Reminder.objects.count() - before
