"""Who may call what: built on the one permission check (tracker.core.permissions.Access)."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission

from tracker.api.models import ApiToken
from tracker.core.permissions import NO_ACCESS, Access, request_access


@dataclass(frozen=True)
class Client:
    access: Access
    sees_contacts: bool  # focal point contact data: secretariat-level partners and secretariat staff
    token: ApiToken | None = None


def client_of(request):
    """The API caller: a partner token (request.auth) or a signed-in user (session, browsable API)."""
    cached = getattr(request, "_api_client", None)
    if cached is not None:
        return cached
    if isinstance(request.auth, ApiToken):
        token = request.auth
        client = Client(access=token.access, sees_contacts=token.partner.is_secretariat_level, token=token)
    elif request.user and request.user.is_authenticated:
        access = request_access(request._request)
        client = Client(access=access, sees_contacts=access.can_manage)
    else:
        client = Client(access=NO_ACCESS, sees_contacts=False)
    request._api_client = client
    return client


def sees_anything(access):
    return access.all_states or bool(access.state_ids)


class ApiPermission(BasePermission):
    """Reads need some visibility; writes need what the view's action declares.

    A view sets `write_requires` to "report" (progress reports) or "manage" (secretariat-level).
    """

    message = _("Your credentials do not allow this.")

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False
        client = client_of(request)
        if request.method in SAFE_METHODS:
            if getattr(view, "needs_contacts", False) and not client.sees_contacts:
                self.message = _("Only secretariat-level clients see focal point contact data.")
                return False
            return sees_anything(client.access) or client.sees_contacts
        if client.token is not None and client.token.scope != ApiToken.Scope.WRITE:
            self.message = _("This token is read-only.")
            return False
        needed = getattr(view, "write_requires", "manage")
        if needed == "report":
            allowed = client.access.can_report
        else:
            allowed = client.access.can_manage
        if not allowed:
            self.message = (
                _("Only secretariat-level clients may change this.")
                if needed == "manage"
                else _("Your credentials do not allow submitting reports.")
            )
        return allowed
