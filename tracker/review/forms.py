"""Forms of the review view: the filters (GET), a review outcome, a cycle move."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tracker.core.forms import QueryFilterForm
from tracker.core.models import Body, Meeting, MemberState, ReviewCycle, ReviewOutcome, Status, ThematicArea
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


class CycleMoveForm(forms.Form):
    cycle = forms.ModelChoiceField(ReviewCycle.objects.all())
    target = forms.ChoiceField(choices=ReviewCycle.State.choices)
