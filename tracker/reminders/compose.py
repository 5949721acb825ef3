"""What each e-mail says: one e-mail per recipient, with one section per reminder row, each item with the
reason it is listed and a direct link. Everything a batch needs is loaded in a handful of queries up front
(`BatchContent`); composing an e-mail runs no query.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F
from django.template import engines
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tracker.core.models import Commitment, Implementation, ProgressReport, localized
from tracker.core.querysets import StalledContext, StalledReason, stalled_reasons_of
from tracker.reminders.models import Reminder

Kind = Reminder.Kind
COMMITMENT_KINDS = {Kind.COMMITMENT_DUE, Kind.COMMITMENT_LATE}
# The most urgent section decides the subject and comes first.
URGENCY = [
    Kind.OVERDUE,
    Kind.COMMITMENT_LATE,
    Kind.BEFORE_DEADLINE,
    Kind.COMMITMENT_DUE,
    Kind.SECRETARIAT_DIGEST,
    Kind.STALLED_DIGEST,
]
TEXT_LIMIT = 180
EMAILS = engines["emails"]  # Jinja2 (tracker/reminders/jinja2_env.py): templates/reminders/


def item_url(implementation_id):
    return f"{settings.SITE_URL}/items/{implementation_id}/"


def home_url():
    """The focal point's "my state" page, where they see and mark done their state's commitments."""
    return f"{settings.SITE_URL}{reverse('home')}"


def admin_commitment_url(commitment_id):
    """The secretariat's list of commitments in the admin, narrowed to this one."""
    try:
        path = f"{reverse('admin:tracker_commitment_changelist')}?id__exact={commitment_id}"
    except NoReverseMatch:  # the admin does not list commitments (yet): its index is the nearest place
        path = reverse("admin:index")
    return f"{settings.SITE_URL}{path}"


def organisation_name(organisation):
    return localized(organisation, "name")


def short(text):
    text = " ".join(text.split())
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1].rstrip() + "…"


@dataclass
class Line:
    reference: str
    text: str
    reasons: list
    url: str

    @property
    def why(self):
        return ("؛ " if translation.get_language() == "ar" else "; ").join(self.reasons)


@dataclass
class Group:
    heading: str
    lines: list = field(default_factory=list)


@dataclass
class Section:
    kind: str
    title: str
    intro: list
    groups: list
    note: str = ""
    facts: list = field(default_factory=list)  # [(label, value)]: one commitment, told field by field
    link: str = ""  # where to act on it, with its label
    link_label: str = ""


class Audience:
    """Whom an e-mail addresses, for its greeting and its footer."""

    FOCAL_POINT = "focal_point"
    SECRETARIAT = "secretariat"
    PARTNER = "partner"


class BatchContent:
    """The items behind a batch of reminder rows, loaded once: missing reports, drafts, stalled items."""

    def __init__(self, rows, plan):
        self.plan = plan
        cycle_ids = {row.cycle_id for row in rows if row.cycle_id}
        self.missing = defaultdict(list)  # (cycle id, state id) -> [Implementation]
        self.stalled = defaultdict(list)  # (body id, state id) -> [Implementation]
        self.drafted = set()
        cycles = {row.cycle_id: row.cycle for row in rows if row.cycle_id}
        states_of_cycle = defaultdict(set)
        for row in rows:
            if row.kind == Kind.SECRETARIAT_DIGEST:
                states_of_cycle[row.cycle_id].add(None)  # every state
            elif row.cycle_id:
                states_of_cycle[row.cycle_id].add(row.member_state_id)
        for cycle_id, states in states_of_cycle.items():
            self._load_missing(cycles[cycle_id], states)
        if cycle_ids:
            drafts = ProgressReport.objects.drafts().filter(cycle_id__in=cycle_ids)
            self.drafted = set(drafts.values_list("cycle_id", "implementation_id"))
        stalled_states = {row.member_state_id for row in rows if row.kind == Kind.STALLED_DIGEST}
        if stalled_states:
            self._load_stalled(stalled_states)
        self.commitments = {}  # id -> Commitment, open ones only
        commitment_ids = {row.commitment_id for row in rows if row.commitment_id}
        if commitment_ids:
            self._load_commitments(commitment_ids)

    @staticmethod
    def _items():
        items = Implementation.objects.current().annotate(body_id=F("recommendation__meeting__body_id"))
        return items.select_related("recommendation", "member_state").order_by(
            "member_state__name_en", "recommendation__meeting_id", "recommendation__position", "pk"
        )

    def _load_missing(self, cycle, states):
        items = self._items().unsettled().filter(recommendation__meeting__body_id=cycle.body_id)
        items = items.exclude(last_report_cycle=cycle.pk)
        if None not in states:
            items = items.filter(member_state_id__in=states)
        for item in items:
            self.missing[(cycle.pk, item.member_state_id)].append(item)

    def _load_stalled(self, states):
        context = StalledContext.load()
        items = self._items().stalled(context=context).with_stalled_reasons(context).filter(member_state_id__in=states)
        for item in items:
            self.stalled[(item.body_id, item.member_state_id)].append(item)

    def _load_commitments(self, ids):
        items = Commitment.objects.filter(pk__in=ids, state=Commitment.State.OPEN).select_related(
            "implementation__recommendation", "implementation__member_state", "organisation"
        )
        self.commitments = {commitment.pk: commitment for commitment in items}

    def is_empty_for(self, row):
        """A row whose items all went away (reported, settled) is no longer worth an e-mail."""
        if row.kind in COMMITMENT_KINDS:
            # Done or dropped since the plan, or its due date moved (the stage names the date it was for).
            commitment = self.commitments.get(row.commitment_id)
            return commitment is None or not row.stage.endswith(f"-{commitment.due_date:%Y%m%d}")
        if row.kind == Kind.STALLED_DIGEST:
            return not self.stalled.get((row.body_id, row.member_state_id))
        if row.kind == Kind.SECRETARIAT_DIGEST:
            return not any(cycle_id == row.cycle_id for cycle_id, _ in self.missing)
        return not self.missing.get((row.cycle_id, row.member_state_id))

    # --- sections, composed in the recipient's language (called inside translation.override) ---

    def _missing_line(self, cycle_id, item):
        reasons = [_("No progress report submitted in this cycle")]
        if (cycle_id, item.pk) in self.drafted:
            reasons.append(_("A draft is saved but has not been submitted"))
        return Line(item.recommendation.reference, short(item.recommendation.text), reasons, item_url(item.pk))

    def section(self, row):
        return {
            Kind.BEFORE_DEADLINE: self._before,
            Kind.OVERDUE: self._overdue,
            Kind.STALLED_DIGEST: self._stalled,
            Kind.SECRETARIAT_DIGEST: self._secretariat,
            Kind.COMMITMENT_DUE: self._commitment,
            Kind.COMMITMENT_LATE: self._commitment,
        }[row.kind](row)

    def _cycle_facts(self, row):
        return {
            "cycle": row.cycle.name,
            "deadline": formats.date_format(row.cycle.report_deadline, "DATE_FORMAT"),
            "state": row.member_state.name,
        }

    def _before(self, row):
        facts = self._cycle_facts(row)
        lines = [self._missing_line(row.cycle_id, i) for i in self.missing[(row.cycle_id, row.member_state_id)]]
        return Section(
            row.kind,
            _("Progress reports due by %(deadline)s") % facts,
            [
                _("The report deadline of %(cycle)s is %(deadline)s.") % facts,
                _("These items of %(state)s have no submitted progress report in this cycle yet:") % facts,
            ],
            [Group("", lines)],
            _("A saved draft does not count: open each item and submit its report."),
        )

    def _overdue(self, row):
        facts = self._cycle_facts(row)
        lines = [self._missing_line(row.cycle_id, i) for i in self.missing[(row.cycle_id, row.member_state_id)]]
        note = ""
        if row.cc:
            note = _("Copied to the alternate focal point and the secretariat: the reports are overdue.")
        return Section(
            row.kind,
            _("Overdue progress reports: the deadline was %(deadline)s") % facts,
            [
                _("The report deadline of %(cycle)s was %(deadline)s.") % facts,
                _("These items of %(state)s still have no submitted progress report:") % facts,
            ],
            [Group("", lines)],
            note,
        )

    def _stalled(self, row):
        items = self.stalled[(row.body_id, row.member_state_id)]
        lines = [
            Line(
                i.recommendation.reference,
                short(i.recommendation.text),
                [str(StalledReason(r).label) for r in stalled_reasons_of(i)],
                item_url(i.pk),
            )
            for i in items
        ]
        return Section(
            row.kind,
            _("Stalled items of %(state)s") % {"state": row.member_state.name},
            [_("These items of %(state)s are stalled. Each line says why:") % {"state": row.member_state.name}],
            [Group("", lines)],
            _("Submitting a progress report, or recording a solution to an obstacle, clears an item."),
        )

    def _secretariat(self, row):
        cycle = row.cycle
        facts = {"cycle": cycle.name, "deadline": formats.date_format(cycle.report_deadline, "DATE_FORMAT")}
        groups = []
        for (cycle_id, _state_id), items in self.missing.items():
            if cycle_id != cycle.pk:
                continue
            heading = _("%(state)s — items without a report: %(count)s") % {
                "state": items[0].member_state.name,
                "count": len(items),
            }
            groups.append(Group(heading, [self._missing_line(cycle.pk, i) for i in items]))
        groups.sort(key=lambda g: g.heading)
        without = self._states_without_focal_point(row)
        intro = [_("Progress reports still missing in %(cycle)s (deadline %(deadline)s), state by state:") % facts]
        note = ""
        if without:
            separator = "، " if translation.get_language() == "ar" else ", "
            note = _("Member states without an active focal point: %(states)s.") % {"states": separator.join(without)}
        return Section(row.kind, _("Weekly digest: missing progress reports"), intro, groups, note)

    def _states_without_focal_point(self, row):
        body = self.plan.bodies.get(row.body_id)
        if body is None:
            return []
        designated = {state for (body_id, state) in self.plan.designations.by_pair if body_id == row.body_id}
        states = self.plan.member_states.get(row.body_id, [])
        return sorted(str(s) for s in states if s.pk not in designated)

    # --- commitments ---

    def audience(self, row):
        """Who reads a row: the state's focal point, the partner organisation, or else the secretariat."""
        if row.kind not in COMMITMENT_KINDS:
            return Audience.SECRETARIAT if row.kind == Kind.SECRETARIAT_DIGEST else Audience.FOCAL_POINT
        commitment = self.commitments[row.commitment_id]
        if row.recipient_email and commitment.owner == Commitment.Owner.PARTNER:
            if row.recipient_email == commitment.organisation.email:
                return Audience.PARTNER
        if row.recipient_id and commitment.owner == Commitment.Owner.STATE:
            designated = self.plan.designations.of(row.body_id, row.member_state_id)
            if any(d.user_id == row.recipient_id for d in designated):
                return Audience.FOCAL_POINT
        return Audience.SECRETARIAT

    def commitment_facts(self, commitment):
        item = commitment.implementation
        return {
            "due": formats.date_format(commitment.due_date, "DATE_FORMAT"),
            "state": item.member_state.name,
            "reference": item.recommendation.reference,
            "organisation": organisation_name(commitment.organisation) if commitment.organisation_id else "",
        }

    def _commitment(self, row):
        commitment = self.commitments[row.commitment_id]
        item = commitment.implementation
        facts = self.commitment_facts(commitment)
        days = (commitment.due_date - timezone.localdate()).days
        late = row.kind == Kind.COMMITMENT_LATE
        if late:
            title = _("Late commitment: it was due by %(due)s") % facts
            when = ngettext("Late by %(days)s day", "Late by %(days)s days", -days) % {"days": -days}
        else:
            title = _("Commitment due by %(due)s") % facts
            when = (
                ngettext("Due in %(days)s day", "Due in %(days)s days", days) % {"days": days}
                if days > 0
                else _("Due today")
            )
        who = facts["organisation"] or commitment.get_owner_display()
        audience = self.audience(row)
        section = Section(
            row.kind,
            title,
            [_("The review agreed on this commitment about %(state)s. It is still open:") % facts],
            [],
            self._commitment_note(row, commitment, audience, late, facts),
            facts=[
                (_("Recommendation:"), f"{item.recommendation.reference} — {short(item.recommendation.text)}"),
                (_("Member state:"), facts["state"]),
                (_("To be done:"), commitment.description.strip()),
                (_("Who follows up:"), str(who)),
                (_("Due by:"), f"{facts['due']} ({when})"),
            ],
        )
        if audience == Audience.FOCAL_POINT:
            section.link, section.link_label = home_url(), _("Mark it done on your state's page")
        elif audience == Audience.SECRETARIAT:
            section.link, section.link_label = admin_commitment_url(commitment.pk), _("Open it in the administration")
        return section

    def _commitment_note(self, row, commitment, audience, late, facts):
        Owner = Commitment.Owner
        if audience == Audience.PARTNER:
            return _("When it is done, please tell the secretariat, which records it as done.")
        if audience == Audience.FOCAL_POINT:
            if late and row.cc:
                return _("Copied to the alternate focal point and the secretariat: the commitment is late.")
            return _("Once it is done, mark it done with a note (and evidence, if any): the secretariat confirms it.")
        if commitment.owner == Owner.STATE:
            return _("%(state)s has no active focal point to remind: the secretariat receives this reminder.") % facts
        if commitment.owner == Owner.PARTNER:
            return _("%(organisation)s has no contact e-mail address: the secretariat receives this reminder.") % facts
        return ""


def _commitment_subject(row, content):
    facts = content.commitment_facts(content.commitments[row.commitment_id])
    if row.kind == Kind.COMMITMENT_LATE:
        return _("Late commitment for %(state)s: it was due by %(due)s") % facts
    return _("Reminder: commitment for %(state)s due by %(due)s") % facts


SUBJECTS = {
    Kind.BEFORE_DEADLINE: lambda row, content: (
        _("Reminder: progress reports due by %(deadline)s")
        % {"deadline": formats.date_format(row.cycle.report_deadline, "DATE_FORMAT")}
    ),
    Kind.OVERDUE: lambda row, content: _("Overdue: progress reports for %(cycle)s") % {"cycle": row.cycle.name},
    Kind.STALLED_DIGEST: lambda row, content: (
        _("Monthly digest: stalled items of %(state)s") % {"state": row.member_state.name}
    ),
    Kind.SECRETARIAT_DIGEST: lambda row, content: _("Weekly digest: missing progress reports"),
    Kind.COMMITMENT_DUE: _commitment_subject,
    Kind.COMMITMENT_LATE: _commitment_subject,
}


def _footer(audience, row, content):
    if audience == Audience.SECRETARIAT:
        return _("You receive this e-mail as a member of the secretariat.")
    if audience == Audience.PARTNER:
        organisation = content.commitments[row.commitment_id].organisation
        return _("You receive this e-mail as the contact of %(organisation)s for the review's commitments.") % {
            "organisation": organisation_name(organisation)
        }
    return _("You receive this e-mail as a designated national focal point.")


def _greeting(row, audience, content):
    if row.recipient_id:
        recipient = row.recipient
        return _("Dear %(name)s,") % {"name": recipient.get_full_name() or recipient.username}
    if audience == Audience.PARTNER:
        organisation = content.commitments[row.commitment_id].organisation
        return _("Dear colleagues of %(organisation)s,") % {"organisation": organisation_name(organisation)}
    return _("Dear colleagues,")


def compose(rows, content, cc):
    """One EmailMultiAlternatives for one recipient (a user or an address) and their rows, in the rows' language."""
    rows = sorted(rows, key=lambda r: URGENCY.index(r.kind))
    language = rows[0].language or settings.LANGUAGE_CODE
    audience = content.audience(rows[0])
    with translation.override(language):
        sections = [content.section(row) for row in rows]
        subject = SUBJECTS[rows[0].kind](rows[0], content)
        context = {
            "greeting": _greeting(rows[0], audience, content),
            "sections": sections,
            "language": language,
            "direction": "rtl" if language == "ar" else "ltr",
            "site_url": settings.SITE_URL,
            "subject": subject,
            "footer": _footer(audience, rows[0], content),
            "tracker_name": _("Workshop Recommendation Tracker"),
            # Worked out once here rather than in the templates' loops (10,000 e-mails a run).
            "why_label": _("Why:"),
            "start": "right" if language == "ar" else "left",
            "end": "left" if language == "ar" else "right",
        }
        text = EMAILS.get_template("reminder.txt").render(context)
        html = EMAILS.get_template("reminder.html").render(context)
    message = EmailMultiAlternatives(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [rows[0].address],
        cc=cc,
        headers={
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "All",
            "X-Reminder-Kind": rows[0].kind,
        },
    )
    message.attach_alternative(html, "text/html")
    return message
