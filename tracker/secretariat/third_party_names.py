"""Names that third-party apps show in the admin in English only, marked here so that `makemessages` keeps
them in our catalogue; the admin site translates section and model names through it (`site.get_app_list`)."""

from django.utils.translation import gettext_noop

NAMES = [
    gettext_noop("Axes"),
    gettext_noop("Otp_Totp"),
    gettext_noop("TOTP devices"),
    gettext_noop("Otp_Static"),
    gettext_noop("Static devices"),
]
