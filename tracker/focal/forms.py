from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from tracker.core.models import Status
from tracker.core.services import ReportInput
from tracker.focal.evidence import validate_evidence


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        return [validate_evidence(super(MultipleFileField, self).clean(f, initial)) for f in files]


class ReportForm(forms.Form):
    """The focal point's report. Rules live in ProgressReport.clean() and services; this only collects."""

    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    progress = forms.IntegerField(
        label=_("Progress (%)"), min_value=0, max_value=100,
        error_messages={"min_value": _("Progress must be between 0 and 100."),
                        "max_value": _("Progress must be between 0 and 100.")},
    )
    narrative = forms.CharField(
        label=_("What was done"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Required when the item is implemented."),
    )
    obstacles = forms.CharField(label=_("Obstacles"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    support_needed = forms.CharField(
        label=_("Support needed"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    evidence = MultipleFileField(
        label=_("Evidence files"), required=False,
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.EVIDENCE_MAX_BYTES)
        self.fields["evidence"].help_text = _("PDF, images, Word or Excel; up to %(limit)s each.") % {"limit": limit}

    def to_input(self):
        data = self.cleaned_data
        return ReportInput(
            status=data["status"], progress=data["progress"], narrative=data["narrative"],
            obstacles=data["obstacles"], support_needed=data["support_needed"],
        )

    def add_validation_error(self, error: ValidationError):
        """Show a model or service ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)
