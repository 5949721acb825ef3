from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from tracker.core.evidence import check_file
from tracker.core.forms import QueryFilterForm
from tracker.core.models import (
    REPORT_TEXT_MAX_LENGTH,
    DueState,
    MemberState,
    ReminderOptOut,
    Status,
    ThematicArea,
    ValidationDecision,
)
from tracker.core.querysets import DUE_RANK
from tracker.core.services import ReportInput
from tracker.focal.dashboard import STILL_DUE_CHOICE


class StateCodeField(forms.ModelChoiceField):
    """A member state by ISO code, in either case (`?state=eg`)."""

    def to_python(self, value):
        return super().to_python(value.upper() if isinstance(value, str) else value)


#: The due states in the order the page lists them: what the open cycle still expects first.
DUE_CHOICES = [(state, DueState(state).label) for state in sorted(DUE_RANK, key=DUE_RANK.__getitem__)]


class HomeFilterForm(QueryFilterForm):
    """The address of "my state": the state the secretariat or a reviewer chose, and the filters of its items
    (theme, status, what the open cycle expects). A GET form: a filtered page is a link one can share."""

    state = StateCodeField(MemberState.objects.all(), to_field_name="iso_code", required=False)
    theme = forms.ModelChoiceField(
        ThematicArea.objects.all(), to_field_name="code", required=False, label=_("Theme"), empty_label=_("All themes")
    )
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All statuses")), *Status.choices])
    due = forms.ChoiceField(
        label=_("Review cycle"),
        required=False,
        choices=[("", _("All items")), (STILL_DUE_CHOICE, _("Reports still due")), *DUE_CHOICES],
    )

    def query(self):
        """The valid filters as they go in a link (page links, the summary's links): bad values are left out."""
        values = {}
        for name, value in self.cleaned().items():
            if value:
                values[name] = value.iso_code if name == "state" else getattr(value, "code", value)
        return values


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        """Each file checked as it arrives (tracker.core.evidence); the service checks them again, with the
        quotas, before storing them."""
        files = data if isinstance(data, (list, tuple)) else [data] if data else []
        cleaned = [super(MultipleFileField, self).clean(f, initial) for f in files]
        for uploaded in cleaned:
            check_file(uploaded)
        return cleaned


class ReportForm(forms.Form):
    """The focal point's report. Rules live in ProgressReport.clean() and services; this only collects."""

    status = forms.ChoiceField(label=_("Status"), choices=Status.choices)
    progress = forms.IntegerField(
        label=_("Progress (%)"),
        min_value=0,
        max_value=100,
        error_messages={
            "min_value": _("Progress must be between 0 and 100."),
            "max_value": _("Progress must be between 0 and 100."),
        },
    )
    # The limits are the model's (ProgressReport: no NUL, at most REPORT_TEXT_MAX_LENGTH characters), checked by
    # the service for every path; here they also give the browser its `maxlength`.
    narrative = forms.CharField(
        label=_("What was done"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Required when the item is implemented."),
        max_length=REPORT_TEXT_MAX_LENGTH,
    )
    obstacles = forms.CharField(
        label=_("Obstacles"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REPORT_TEXT_MAX_LENGTH,
    )
    support_needed = forms.CharField(
        label=_("Support needed"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=REPORT_TEXT_MAX_LENGTH,
    )
    evidence = MultipleFileField(
        label=_("Evidence files"),
        required=False,
    )
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("This form is out of date: open the item again, then report."),
            "invalid": _("This form is out of date: open the item again, then report."),
        },
    )
    # The revision of the state's shared draft when the form was opened (0: none): a save made from an older one
    # is refused (services.StaleDraft), so two focal points never overwrite each other's draft silently.
    draft_revision = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        error_messages={
            "required": _("This form is out of date: open the item again, then report."),
            "invalid": _("This form is out of date: open the item again, then report."),
            "min_value": _("This form is out of date: open the item again, then report."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.EVIDENCE_MAX_BYTES)
        self.fields["evidence"].help_text = _("PDF, images, Word or Excel; up to %(limit)s each.") % {"limit": limit}

    def to_input(self):
        data = self.cleaned_data
        return ReportInput(
            status=data["status"],
            progress=data["progress"],
            narrative=data["narrative"],
            obstacles=data["obstacles"],
            support_needed=data["support_needed"],
        )

    def add_validation_error(self, error: ValidationError):
        """Show a model or service ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)


class CommitmentDoneForm(forms.Form):
    """What the owner did about a commitment, with optional evidence. Rules: tracker.core.commitments.mark_done."""

    note = forms.CharField(
        label=_("What was done"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=REPORT_TEXT_MAX_LENGTH,
        error_messages={"required": _("Say what was done.")},
    )
    evidence = MultipleFileField(label=_("Evidence files"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = filesizeformat(settings.EVIDENCE_MAX_BYTES)
        self.fields["evidence"].help_text = _("PDF, images, Word or Excel; up to %(limit)s each.") % {"limit": limit}

    def add_validation_error(self, error: ValidationError):
        """Show a service ValidationError next to the fields it names."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)


class ValidationDecisionForm(forms.Form):
    """A national validator's decision on the report awaiting validation. Rules: tracker.core.validation."""

    report = forms.IntegerField(widget=forms.HiddenInput)
    revision = forms.IntegerField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label=_("Decision"), choices=ValidationDecision.Decision.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=REPORT_TEXT_MAX_LENGTH,
        help_text=_("Required when you return the report: say what the focal points should change."),
    )

    def matches(self, report):
        """Whether the decision is about the report as the validator saw it (not a newer version of it)."""
        return (self.cleaned_data["report"], self.cleaned_data["revision"]) == (report.pk, report.revision)

    def add_validation_error(self, error: ValidationError):
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)


class ReminderChoicesForm(forms.Form):
    """One box per optional kind of reminder e-mail, ticked to receive it (tracker.core.reminder_preferences says
    which kinds are optional, and for whom). Any value of a ticked box means "receive"; unknown fields are ignored."""

    HELP = {
        ReminderOptOut.Kind.STALLED_DIGEST: _(
            "Once a month: the items of your state that are stalled, each with the reason."
        ),
        ReminderOptOut.Kind.SECRETARIAT_DIGEST: _(
            "Once a week: the progress reports still missing in the open cycle, state by state."
        ),
    }

    def __init__(self, kinds, turned_off, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind] = forms.BooleanField(
                label=ReminderOptOut.Kind(kind).label,
                required=False,
                initial=kind not in turned_off,
                help_text=self.HELP.get(kind, ""),
            )

    def receive(self):
        """{kind: receive it?} for the kinds on the form."""
        return {kind: bool(self.cleaned_data[kind]) for kind in self.fields}
