from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.http import HttpRequest


class UsernameOrEmailBackend(ModelBackend):
    """Sign in with the username or the e-mail address (case-insensitive), same password check."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username and "@" in username:
            user_model = get_user_model()
            matches = list(user_model._default_manager.filter(email__iexact=username.strip())[:2])
            if len(matches) == 1:
                username = matches[0].get_username()
        return super().authenticate(request, username=username, password=password, **kwargs)
