"""Sign-in: by username or e-mail, and the key the lockout (django-axes) counts failures under."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest

#: Longer than any username or e-mail address we store: such input names nobody, and is not looked up.
MAX_SIGN_IN_NAME = 254


def account_named(typed: str | None) -> User | None:
    """The one account a typed username or e-mail address names, however it is spelled: spaces around
    it, any letter case. None when it names no account, or several (a shared ministry address)."""
    name = (typed or "").strip()
    if not name or len(name) > MAX_SIGN_IN_NAME:
        return None
    users = get_user_model()._default_manager
    if "@" not in name:
        exact = users.filter(username=name).first()
        if exact is not None:
            return exact
    lookup = {"email__iexact": name} if "@" in name else {"username__iexact": name}
    matches = list(users.filter(**lookup)[:2])
    return matches[0] if len(matches) == 1 else None


class UsernameOrEmailBackend(ModelBackend):
    """Sign in with the username or the e-mail address (case-insensitive), same password check."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        account = account_named(username)
        if account is None:
            return None
        return super().authenticate(request, username=account.get_username(), password=password, **kwargs)


def lockout_key(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """What django-axes counts failures under (AXES_USERNAME_CALLABLE): the account the typed name resolves
    to, so no spelling of it gets attempts of its own; for a name that is no account, the client's address."""
    typed = (credentials or {}).get("username")
    if typed is None and request is not None:
        typed = request.POST.get("username")
    account = account_named(typed)
    if account is not None:
        return f"account:{account.pk}"
    address = client_address(request) if request is not None else ""
    return f"unknown-name@{address}"


def client_address(request: HttpRequest) -> str:
    """The client's address: behind our proxy (BEHIND_TLS_PROXY) the X-Forwarded-For it sets, which holds the one
    address nginx saw; otherwise the connection's, since a client may send any X-Forwarded-For it likes."""
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
        if forwarded:
            return forwarded
    return str(request.META.get("REMOTE_ADDR", ""))
