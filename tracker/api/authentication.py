"""Token authentication for partner systems: a knox token (hashed) whose scope is an ApiToken."""

import binascii
from hmac import compare_digest

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions

from tracker.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
from tracker.api.tokens import token_access


class PartnerTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <token>`. Sets request.user to the partner's service account and
    request.auth to the ApiToken, with `.access` (a tracker.permissions.Access) attached.

    One query finds the token, its service account, scope and partner; one more reads its states.
    """

    def authenticate_credentials(self, token):
        invalid = _("Invalid or revoked token.")
        try:
            token = token.decode("utf-8")
            digest = hash_token(token)
        except (UnicodeDecodeError, TypeError, ValueError, binascii.Error):
            raise exceptions.AuthenticationFailed(invalid) from None
        candidates = AuthToken.objects.filter(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]).select_related(
            "user", "scope__partner"
        )
        for auth_token in candidates:
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                raise exceptions.AuthenticationFailed(_("This token has expired."))
            api_token = getattr(auth_token, "scope", None)
            if api_token is None or api_token.revoked_at or not api_token.partner.is_active:
                raise exceptions.AuthenticationFailed(invalid)
            if not auth_token.user.is_active:
                raise exceptions.AuthenticationFailed(invalid)
            api_token.access = token_access(api_token)
            return auth_token.user, api_token
        raise exceptions.AuthenticationFailed(invalid)
