"""Token authentication for partner systems: a knox token (hashed) whose scope is an ApiToken."""

import binascii
from hmac import compare_digest

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions

from tracker.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
from tracker.api.compiled import CompiledQuery
from tracker.api.models import ApiToken, PartnerSystem
from tracker.api.tokens import token_access

# The models one look-up row holds, each with the path from AuthToken (a select_related in one row).
TOKEN_ROW = (("", AuthToken), ("user__", get_user_model()), ("scope__", ApiToken), ("scope__partner__", PartnerSystem))


def _attnames(model):
    return [field.attname for field in model._meta.concrete_fields]


def _token_candidates(token_key):
    columns = [prefix + name for prefix, model in TOKEN_ROW for name in _attnames(model)]
    return AuthToken.objects.filter(token_key=token_key).values_list(*columns)


# Runs on every API request: compiled once (see tracker.api.compiled), prepared by PostgreSQL.
TOKEN_QUERY = CompiledQuery("api-token", _token_candidates)


def candidates(token_key):
    """(AuthToken with .user, its ApiToken with .partner, or None) for each token with this prefix."""
    for row in TOKEN_QUERY.rows("all", ["wrt:token-key"], [token_key]):
        objects, start = [], 0
        for _prefix, model in TOKEN_ROW:
            width = len(model._meta.concrete_fields)
            values = row[start : start + width]
            start += width
            objects.append(None if values[0] is None else model.from_db("default", _attnames(model), values))
        auth_token, user, api_token, partner = objects
        auth_token.user = user
        if api_token is not None:
            api_token.partner = partner
        yield auth_token, api_token


class PartnerTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <token>`. Sets request.user to the partner's service account and
    request.auth to the ApiToken, with `.access` (a tracker.core.permissions.Access) attached.

    One query finds the token, its service account, scope, partner and states (a copy kept on ApiToken).
    """

    def authenticate_credentials(self, token):
        invalid = _("Invalid or revoked token.")
        try:
            token = token.decode("utf-8")
            digest = hash_token(token)
        except (UnicodeDecodeError, TypeError, ValueError, binascii.Error):
            raise exceptions.AuthenticationFailed(invalid) from None
        for auth_token, api_token in candidates(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if not compare_digest(digest, auth_token.digest):
                continue
            if auth_token.expiry is not None and auth_token.expiry < timezone.now():
                raise exceptions.AuthenticationFailed(_("This token has expired."))
            if api_token is None or api_token.revoked_at or not api_token.partner.is_active:
                raise exceptions.AuthenticationFailed(invalid)
            if not auth_token.user.is_active:
                raise exceptions.AuthenticationFailed(invalid)
            api_token.access = token_access(api_token)
            return auth_token.user, api_token
        raise exceptions.AuthenticationFailed(invalid)
