"""Forms every face shares: what a sign-in form accepts, and the base of the filters read from a page's address.

Bad input is answered where it enters, with a message, before it reaches the database: PostgreSQL refuses a NUL
character in text and a value longer than its column, and either would otherwise be a 500.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from tracker.core.auth import MAX_SIGN_IN_NAME

if TYPE_CHECKING:
    from django.http import HttpRequest

#: The longest value of a filter in a page's address: codes and ids are far shorter.
QUERY_VALUE_MAX_LENGTH = 200


class BoundedSignInMixin(forms.Form):
    """For sign-in forms (Django's AuthenticationForm and the admin's): a username or e-mail address longer
    than any account's (MAX_SIGN_IN_NAME), or with a NUL character, is a field error with a message; no sign-in
    is attempted, so nothing reaches the database or the lockout's records.

    (AuthenticationForm sets the field's `max_length` after the field is built, which adds no validator.)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(MAX_SIGN_IN_NAME))
        username.widget.attrs["maxlength"] = str(MAX_SIGN_IN_NAME)


class SignInForm(BoundedSignInMixin, AuthenticationForm):
    """The sign-in page's form (/accounts/login/): username or e-mail address, and password."""


class QueryFilterForm(forms.Form):
    """Filters read from a page's address (GET): the one way a page reads its query string.

    Each value is parsed by a form field (which refuses a NUL character before any query); a value with a NUL
    character or longer than QUERY_VALUE_MAX_LENGTH is refused before any field sees it. A value that is not
    understood is dropped and reported (`cleaned()`, `warn_if_ignored()`), never a 500. (The API reads its
    query strings through django-filter's forms in the same way, and answers 400.)
    """

    ignored_message = _("Some filters were not understood and were ignored.")

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        self.refused: list[str] = []
        if data is not None:
            data = data.copy()
            for name in list(data.keys()):
                values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
                if any(not isinstance(v, str) or "\x00" in v or len(v) > QUERY_VALUE_MAX_LENGTH for v in values):
                    self.refused.append(name)
                    del data[name]
        super().__init__(data, *args, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in self.refused:
            if name in self.fields:
                self.add_error(name, ValidationError(_("This value is not understood."), code="refused"))
        return cleaned

    def cleaned(self) -> dict[str, Any]:
        """The valid values; a bad value in the address is dropped (and reported), never a 500."""
        if self.is_bound and not self.is_valid():
            return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}
        return getattr(self, "cleaned_data", {})

    def ignored(self, *names: str) -> bool:
        """Whether some filter (of `names`, or any) was not understood."""
        return self.is_bound and any(not names or name in names for name in self.errors)

    def warn_if_ignored(self, request: HttpRequest, *names: str) -> None:
        if self.ignored(*names):
            messages.warning(request, str(self.ignored_message))
