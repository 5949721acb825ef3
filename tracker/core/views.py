"""Views every face shares: the language switch in the header of every page, and the second factor."""

from __future__ import annotations

from base64 import b32encode
from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from tracker.core.models import Profile
from tracker.core.permissions import needs_second_factor

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_otp.models import Device


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    """Django's set_language, plus: remember the choice for a signed-in user, on every device."""
    language = request.POST.get("language")
    if request.user.is_authenticated and language in {"ar", "en"}:
        Profile.objects.update_or_create(user=request.user, defaults={"language": language})
    return set_language(request)


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\s*\d{6,8}\s*$",
        max_length=16,
        error_messages={"invalid": _("Enter the 6-digit code your authenticator app shows.")},
    )


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    """Verify the second factor, or enrol one: the QR code is shown, and the first correct code confirms
    the authenticator and verifies this session."""
    target = _safe_next(request)
    if not needs_second_factor(request.user):
        return HttpResponseRedirect(target)
    user = cast("User", request.user)  # login_required
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    enrolling = None if confirmed else _enrolment_device(user)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        device = _verified_device(user, form.cleaned_data["code"].strip(), enrolling)
        if device is not None:
            otp_login(request, device)
            return HttpResponseRedirect(target)
        form.add_error("code", _("This code is not right or has expired: enter the code shown now."))
    return render(
        request,
        "registration/two_factor.html",
        {
            "form": form,
            "next": target,
            "enrolling": enrolling,
            "qr_code": _qr_svg(enrolling.config_url) if enrolling else None,
            "secret": b32encode(enrolling.bin_key).decode() if enrolling else None,
        },
        status=200 if request.method == "GET" or form.is_valid() else 400,
    )


def _enrolment_device(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def _verified_device(user: User, code: str, enrolling: TOTPDevice | None) -> Device | None:
    if enrolling is None:
        return match_token(user, code)
    if enrolling.verify_token(code):
        enrolling.confirmed = True
        enrolling.save(update_fields=["confirmed"])
        return enrolling
    return None


def _qr_svg(url: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return mark_safe(image.to_string(encoding="unicode"))  # our own SVG of our own URL: nothing to escape


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"
