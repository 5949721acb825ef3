"""The form that asks for a meeting pack (the web page; the API validates the same fields with its serializer)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tracker.core.models import Language, ReviewCycle
from tracker.review.models import MeetingPack


class CycleChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.body} · {obj.name} ({obj.get_state_display()})"


class PackRequestForm(forms.Form):
    cycle = CycleChoice(
        ReviewCycle.objects.select_related("body").order_by("body__code", "-period_start", "-pk"),
        label=_("Review cycle"),
        empty_label=None,
        error_messages={"invalid_choice": _("Choose one of the review cycles listed.")},
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices)
    format = forms.ChoiceField(label=_("Format"), choices=MeetingPack.Format.choices)
