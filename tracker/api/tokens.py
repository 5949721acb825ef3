"""Issuing and scoping partner tokens; the Access a token grants."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from tracker.api.models import ApiToken, PartnerSystem
from tracker.core.permissions import Access


def ensure_partner(code, name=None, *, secretariat_level=None):
    """The partner system with this code, created with its service account if new."""
    partner = PartnerSystem.objects.filter(code=code).first()
    if partner is None:
        user = get_user_model().objects.create_user(f"partner-{code}"[:150], is_active=True)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        partner = PartnerSystem.objects.create(
            code=code, name=name or code, service_account=user, is_secretariat_level=bool(secretariat_level)
        )
    elif secretariat_level is not None and partner.is_secretariat_level != secretariat_level:
        partner.is_secretariat_level = secretariat_level
        partner.save(update_fields=["is_secretariat_level"])
    return partner


@transaction.atomic
def issue_token(partner, scope, *, states=(), expires_days=None, label=""):
    """Create a knox token for the partner's service account; returns (ApiToken, the token string).

    The string is shown once: only its hash is stored.
    """
    expiry = timedelta(days=expires_days) if expires_days else None
    auth_token, raw = AuthToken.objects.create(user=partner.service_account, expiry=expiry)
    api_token = ApiToken.objects.create(
        partner=partner,
        auth_token=auth_token,
        token_key=auth_token.token_key,
        label=label,
        scope=scope,
        expires_at=auth_token.expiry,
    )
    api_token.states.set(states)
    return api_token, raw


def token_access(api_token):
    """The one Access object for a token: its states (or all) and, if read-write, reporting/managing."""
    states = frozenset(api_token.state_ids)
    write = api_token.scope == ApiToken.Scope.WRITE
    partner = api_token.partner
    return Access(
        all_states=not states,
        scopes=frozenset((None, state_id) for state_id in states),  # a token's states, in every body
        sees_confidential=partner.is_secretariat_level or partner.cleared_for_confidential,
        can_report=write,
        can_manage=write and partner.is_secretariat_level,
    )


def active_tokens():
    now = timezone.now()
    return ApiToken.objects.filter(auth_token__isnull=False, revoked_at__isnull=True).exclude(expires_at__lte=now)
