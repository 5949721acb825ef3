"""The trends page's filters, read from its address (GET): /review/trends/?state=EG&by=theme."""

from dataclasses import dataclass

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tracker.core.forms import QueryFilterForm
from tracker.core.models import Body, Meeting, MemberState, ThematicArea
from tracker.core.trends import DEFAULT_CYCLES, GroupBy, Order

CYCLE_CHOICES = [2, 3, 4, 6, 8, 12]


class CodeOrIdChoiceField(forms.ModelChoiceField):
    """A choice named by its code (?state=EG, as the page's own form sends it) or by its id (as the review
    view's filters give it, so its address can be carried over as it is)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.queryset.get(**{self.to_field_name: value})
        except (ValueError, TypeError, self.queryset.model.DoesNotExist):
            pass
        if str(value).isdigit():
            found = self.queryset.filter(pk=int(value)).first()
            if found is not None:
                return found
        raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")


class TrendFilterForm(QueryFilterForm):
    body = CodeOrIdChoiceField(
        Body.objects.all(), to_field_name="code", label=_("Body"), required=False, empty_label=None
    )
    state = CodeOrIdChoiceField(
        MemberState.objects.none(),
        to_field_name="iso_code",
        label=_("Member state"),
        required=False,
        empty_label=_("All member states"),
    )
    theme = CodeOrIdChoiceField(
        ThematicArea.objects.all(),
        to_field_name="code",
        label=_("Thematic area"),
        required=False,
        empty_label=_("All thematic areas"),
    )
    meeting = CodeOrIdChoiceField(
        Meeting.objects.none(), to_field_name="code", label=_("Meeting"), required=False, empty_label=_("All meetings")
    )
    by = forms.ChoiceField(label=_("Charts per"), required=False, choices=[("", _("Automatic")), *GroupBy.choices])
    order = forms.ChoiceField(label=_("Order"), required=False, choices=Order.choices)
    last = forms.TypedChoiceField(
        label=_("Closed cycles"),
        required=False,
        coerce=int,
        empty_value=DEFAULT_CYCLES,
        choices=[(n, n) for n in CYCLE_CHOICES],
        initial=DEFAULT_CYCLES,
    )
    page = forms.IntegerField(required=False, min_value=1, max_value=100_000, widget=forms.HiddenInput)

    def __init__(self, data=None, body=None, **kwargs):
        if data is not None and not data.get("last"):
            data = data.copy()  # a bound form shows no initial value: say which cycles the page shows
            data["last"] = str(DEFAULT_CYCLES)
        super().__init__(data, **kwargs)
        body_id = body.pk if body else None
        self.fields["state"].queryset = MemberState.objects.filter(bodies=body_id).order_by("name_en")
        self.fields["meeting"].queryset = Meeting.objects.filter(body_id=body_id).order_by("-start_date", "code")


@dataclass
class TrendChoice:
    """What the address asks for, every value understood (a value that is not is dropped, with a notice)."""

    body: Body | None
    state: MemberState | None = None
    theme: ThematicArea | None = None
    meeting: Meeting | None = None
    by: GroupBy = GroupBy.STATE
    order: Order = Order.NATURAL
    last: int = DEFAULT_CYCLES
    page: int = 1

    @property
    def scope(self):
        return {"state": self.state, "theme": self.theme, "meeting": self.meeting}


def read_choice(request):
    """The filter form bound to the address (its choices those of the chosen body) and what it selects.
    Without `by`, a member state's page shows its thematic areas, the region its member states."""
    body = TrendFilterForm(request.GET).cleaned().get("body") or Body.objects.order_by("pk").first()
    form = TrendFilterForm(request.GET or None, body=body)
    values = form.cleaned()
    form.warn_if_ignored(request)
    state = values.get("state")
    by = values.get("by") or (GroupBy.THEME if state else GroupBy.STATE)
    choice = TrendChoice(
        body=body,
        state=state,
        theme=values.get("theme"),
        meeting=values.get("meeting"),
        by=GroupBy(by),
        order=Order(values.get("order") or Order.NATURAL),
        last=values.get("last") or DEFAULT_CYCLES,
        page=values.get("page") or 1,
    )
    return form, choice
