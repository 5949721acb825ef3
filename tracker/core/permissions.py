"""The one permission check, used by the pages, the API and the admin.

An `Access` says what a caller may see and do: every state (secretariat, reviewers) or a set of
states (focal points through their active designations, partner tokens through their scope).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.http import HttpRequest

    from tracker.core.models import Implementation

SECRETARIAT_GROUP = "Secretariat"
REVIEWER_GROUP = "Reviewer"
FOCAL_POINT_GROUP = "Focal point"


@dataclass(frozen=True)
class Access:
    all_states: bool = False
    state_ids: frozenset[int] = field(default_factory=frozenset)
    can_report: bool = False  # submit progress reports on visible items
    can_manage: bool = False  # secretariat: cycles, outcomes, recommendations, focal points
    is_reviewer: bool = False

    @property
    def can_review(self) -> bool:
        """May open the review view (all states, read-only or not)."""
        return self.all_states and (self.can_manage or self.is_reviewer)

    def sees_state(self, state_id: int) -> bool:
        return self.all_states or state_id in self.state_ids

    def may_report_on(self, implementation: Implementation) -> bool:
        return self.can_report and self.sees_state(implementation.member_state_id)


NO_ACCESS = Access()


def _group_names(user: User | AnonymousUser) -> set[str]:
    # The memo is an attribute of our own on the user object, which the stubs do not know.
    if not hasattr(user, "_tracker_groups"):
        user._tracker_groups = set(user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
    return user._tracker_groups  # type: ignore[union-attr]


def is_secretariat(user: User | AnonymousUser) -> bool:
    return user.is_active and (user.is_superuser or SECRETARIAT_GROUP in _group_names(user))


def is_reviewer(user: User | AnonymousUser) -> bool:
    return user.is_active and REVIEWER_GROUP in _group_names(user)


def designated_state_ids(user: User, today: date | None = None) -> frozenset[int]:
    from tracker.core.models import FocalPointDesignation

    designations = FocalPointDesignation.objects.active(today).filter(user=user)
    return frozenset(designations.values_list("member_state_id", flat=True))


def access_for(user: User | AnonymousUser | None, today: date | None = None) -> Access:
    """The access of a signed-in user; computed once per request by the callers that cache it."""
    if not user or not user.is_authenticated or not user.is_active:
        return NO_ACCESS
    if is_secretariat(user):
        return Access(all_states=True, can_report=True, can_manage=True)
    if is_reviewer(user):
        return Access(all_states=True, is_reviewer=True)
    states = designated_state_ids(user, today or timezone.localdate())
    return Access(state_ids=states, can_report=bool(states))


def request_access(request: HttpRequest) -> Access:
    """access_for(request.user), memoised on the request."""
    # The memo is an attribute of our own on the request, which the stubs do not know.
    if not hasattr(request, "_tracker_access"):
        request._tracker_access = access_for(request.user)  # type: ignore[attr-defined]
    return request._tracker_access  # type: ignore[attr-defined]
