"""Clarification threads: the thread page (messages and the reply form) and the secretariat's "ask" form on an
item. Thin: who takes part, what a reply does and the e-mails are tracker.core.clarifications'."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tracker.core import clarifications as rules
from tracker.core.models import CLARIFICATION_MAX_LENGTH, Implementation
from tracker.core.permissions import request_access


class MessageForm(forms.Form):
    """A message of a thread. The limits are the model's (checked again by the service for every path); here they
    also give the browser its `maxlength`."""

    text = forms.CharField(
        label=gettext_lazy("Your message"),
        widget=forms.Textarea(attrs={"rows": 5, "dir": "auto"}),
        max_length=CLARIFICATION_MAX_LENGTH,
        error_messages={"required": gettext_lazy("Write a message before sending it.")},
    )

    def add_validation_error(self, error: ValidationError):
        """Show a service ValidationError next to the field it names."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)


class ReportChoice(forms.ModelChoiceField):
    def label_from_instance(self, report):
        when = date_format(localtime(report.submitted_at), "DATE_FORMAT")
        return _("The report of %(date)s: %(status)s, %(progress)s%%") % {
            "date": when,
            "status": report.get_status_display(),
            "progress": report.progress,
        }


class AskForm(MessageForm):
    """The first message of a thread, about the item as a whole or one of its submitted reports."""

    report = ReportChoice(
        queryset=None,
        required=False,
        label=gettext_lazy("What is the question about?"),
        empty_label=gettext_lazy("The item as a whole"),
    )
    field_order = ["report", "text"]

    def __init__(self, reports, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["report"].queryset = reports
        self.fields["text"].label = _("Your question")


def _thread_or_404(request, pk):
    """The thread if the user takes part in it; 404 otherwise, so other states' threads are not even confirmed."""
    access = request_access(request)
    return get_object_or_404(rules.with_messages(rules.visible_to(access)), pk=pk), access


@login_required
def thread(request, pk):
    clarification, access = _thread_or_404(request, pk)
    form = MessageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            message = rules.reply(clarification, request.user, access, form.cleaned_data["text"])
        except ValidationError as error:
            form.add_validation_error(error)
        else:
            messages.success(request, _sent_notice(message.from_state, clarification))
            return redirect("clarification", pk=clarification.pk)
    context = {
        "clarification": clarification,
        "item": clarification.implementation,
        "form": form,
        "from_state": rules.speaks_for_state(access, clarification.implementation),
    }
    return render(request, "focal/clarification.html", context, status=400 if form.errors else 200)


def _sent_notice(from_state, clarification):
    if from_state:
        return _("Your answer is sent to the secretariat. The clarification is marked answered.")
    state = clarification.implementation.member_state.name
    return _("Your message is sent to the focal points and national validators of %(state)s.") % {"state": state}


@login_required
def ask(request, pk):
    """The secretariat (or a reviewer, where the body allows) asks the item's state for a clarification."""
    access = request_access(request)
    items = Implementation.objects.current().visible_to(access).select_related("recommendation__meeting__body")
    item = get_object_or_404(items.select_related("member_state"), pk=pk)
    if not rules.may_ask(access, item):
        raise PermissionDenied(_("You may not ask this state for a clarification."))
    reports = rules.askable_reports(item)
    form = AskForm(reports, request.POST or None, initial={"report": request.GET.get("report")})
    if request.method == "POST" and form.is_valid():
        text, report = form.cleaned_data["text"], form.cleaned_data["report"]
        try:
            clarification = rules.ask(item, request.user, access, text, report=report)
        except ValidationError as error:
            form.add_validation_error(error)
        else:
            messages.success(request, _sent_notice(False, clarification))
            return redirect("clarification", pk=clarification.pk)
    context = {"item": item, "form": form}
    return render(request, "focal/clarification_ask.html", context, status=400 if form.errors else 200)
