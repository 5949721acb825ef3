"""Forms of the review view: the filters (GET), a review outcome and its commitments, a cycle move."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tracker.core.commitments import CommitmentInput, check_input
from tracker.core.forms import QueryFilterForm
from tracker.core.models import (
    REPORT_TEXT_MAX_LENGTH,
    Body,
    Commitment,
    Meeting,
    MemberState,
    Organisation,
    ReviewCycle,
    ReviewOutcome,
    Status,
    ThematicArea,
)
from tracker.core.querysets import StalledReason

ANY_REASON = "any"
SORTS = [
    ("reference", _("Recommendation")),
    ("stalled", _("Most stalled first")),
    ("completion", _("Least completed first")),
]
TABLE_SORTS = [
    ("reference", _("Recommendation")),
    ("state", _("Member state")),
    ("oldest_report", _("Oldest report first")),
    ("status", _("Status")),
]


class ReviewFilterForm(QueryFilterForm):
    body = forms.ModelChoiceField(Body.objects.all(), label=_("Body"), required=False, empty_label=None)
    cycle = forms.ModelChoiceField(
        ReviewCycle.objects.none(), label=_("Review cycle"), required=False, empty_label=_("Current cycle")
    )
    meeting = forms.ModelChoiceField(
        Meeting.objects.none(), label=_("Meeting"), required=False, empty_label=_("All meetings")
    )
    state = forms.ModelChoiceField(
        MemberState.objects.all(), label=_("Member state"), required=False, empty_label=_("All member states")
    )
    theme = forms.ModelChoiceField(
        ThematicArea.objects.all(), label=_("Thematic area"), required=False, empty_label=_("All thematic areas")
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All statuses")), *Status.choices])
    reason = forms.ChoiceField(
        label=_("Stalled"),
        required=False,
        choices=[("", _("All items")), (ANY_REASON, _("Stalled for any reason")), *StalledReason.choices],
    )
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORTS + TABLE_SORTS[1:])
    view = forms.ChoiceField(
        required=False, choices=[("matrix", _("Matrix")), ("table", _("Table"))], widget=forms.HiddenInput
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput)

    def __init__(self, data=None, body=None, **kwargs):
        super().__init__(data, **kwargs)
        body_id = body.pk if body else None
        self.fields["cycle"].queryset = ReviewCycle.objects.filter(body_id=body_id).order_by("-period_start")
        self.fields["meeting"].queryset = Meeting.objects.filter(body_id=body_id).order_by("-start_date", "code")
        self.fields["state"].queryset = MemberState.objects.filter(bodies=body_id).order_by("name_en")


class OutcomeForm(forms.ModelForm):
    class Meta:
        model = ReviewOutcome
        fields = ["obstacle_category", "obstacle", "solution", "follow_up_by", "follow_up_due"]
        widgets = {
            "obstacle": forms.Textarea(attrs={"rows": 3}),
            "solution": forms.Textarea(attrs={"rows": 3}),
            "follow_up_due": forms.DateInput(attrs={"type": "date"}),
        }
        labels = {
            "obstacle_category": _("Obstacle category"),
            "obstacle": _("Obstacle found"),
            "solution": _("Solution agreed"),
            "follow_up_by": _("Who follows up"),
            "follow_up_due": _("Follow up by (date)"),
        }
        help_texts = {"solution": _("Recording a solution clears the item's obstacle flag.")}


class CommitmentForm(forms.Form):
    """One commitment of an agreed solution: what, who, by when. The rules are tracker.core.commitments'."""

    description = forms.CharField(
        label=_("What is to be done"), widget=forms.Textarea(attrs={"rows": 2}), max_length=REPORT_TEXT_MAX_LENGTH
    )
    owner = forms.ChoiceField(label=_("Who"), choices=Commitment.Owner.choices, initial=Commitment.Owner.STATE)
    organisation = forms.ModelChoiceField(
        Organisation.objects.all(),
        label=_("Partner organisation"),
        required=False,
        help_text=_("Only when a partner organisation follows up."),
    )
    due_date = forms.DateField(label=_("By when"), widget=forms.DateInput(attrs={"type": "date"}))

    def has_changed(self):
        """A row is empty, and skipped, when nothing is typed in it: the owner select always sends a value."""
        typed = (self.data.get(self.add_prefix(name), "") for name in ("description", "organisation", "due_date"))
        return any(str(value).strip() for value in typed)

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                check_input(self.to_input())
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, messages)
        return data

    def to_input(self):
        data = self.cleaned_data
        return CommitmentInput(
            description=data["description"],
            due_date=data["due_date"],
            owner=data["owner"],
            organisation=data.get("organisation"),
        )


class BaseCommitmentFormSet(forms.BaseFormSet):
    """New commitments only: every row may stay empty, including rows carried over by "More rows"."""

    def initial_form_count(self):
        return 0

    def inputs(self):
        return [form.to_input() for form in self.forms if form.has_changed() and form.cleaned_data]


MAX_COMMITMENTS = 20
CommitmentFormSet = forms.formset_factory(
    CommitmentForm,
    formset=BaseCommitmentFormSet,
    extra=2,
    max_num=MAX_COMMITMENTS,
    absolute_max=MAX_COMMITMENTS,
    validate_max=True,
)
COMMITMENTS_PREFIX = "commitments"


def commitment_formset(data=None):
    """The commitments of a new outcome, bound to the POST when it carries them (an outcome may come without)."""
    if data is not None and f"{COMMITMENTS_PREFIX}-TOTAL_FORMS" in data:
        return CommitmentFormSet(data, prefix=COMMITMENTS_PREFIX)
    return CommitmentFormSet(prefix=COMMITMENTS_PREFIX)


def with_more_rows(data, more=2):
    """The outcome form and the commitments typed so far, unbound (no errors yet), with `more` empty rows: the
    "More rows" button, which needs no JavaScript."""
    rows = []
    try:
        total = min(int(data.get(f"{COMMITMENTS_PREFIX}-TOTAL_FORMS", 0)), MAX_COMMITMENTS)
    except ValueError:
        total = 0
    for index in range(total):
        prefix = f"{COMMITMENTS_PREFIX}-{index}-"
        rows.append({name: data.get(prefix + name, "") for name in CommitmentForm.base_fields})
    formset = CommitmentFormSet(initial=rows, prefix=COMMITMENTS_PREFIX)
    formset.extra = min(total + more, MAX_COMMITMENTS)
    outcome = OutcomeForm(initial={name: data.get(name, "") for name in OutcomeForm.base_fields})
    return outcome, formset


class CycleMoveForm(forms.Form):
    cycle = forms.ModelChoiceField(ReviewCycle.objects.all())
    target = forms.ChoiceField(choices=ReviewCycle.State.choices)
