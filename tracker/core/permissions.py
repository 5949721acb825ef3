"""The one permission check, used by the pages, the API and the admin.

An `Access` says what a caller may see and do: every state (secretariat, reviewers), or a set of
scopes: (body, member state) pairs for focal points, through their active designations (a focal point
of Egypt for AIMC does not see Egypt's items of another body), and member states of any body for partner
tokens. Confidential recommendations (`is_public` false) are seen by the secretariat and reviewers, by the
focal points of the states they apply to, and by partners cleared for them (`sees_confidential`); the
querysets' `visible_to(access)` apply this, so every face (pages, evidence, review, exports, API) agrees.
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


#: A scope: (body id, member state id); a body of None stands for every body (partner tokens).
Scope = tuple[int | None, int]


@dataclass(frozen=True)
class Access:
    all_states: bool = False
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    sees_confidential: bool = False  # confidential recommendations, within what the scopes show
    can_report: bool = False  # submit progress reports on visible items
    can_manage: bool = False  # secretariat: cycles, outcomes, recommendations, focal points
    is_reviewer: bool = False
    # The scopes where the user is a national validator: they see the items, approve or return the reports
    # waiting for validation, and draft none (a user has one active designation per state and body).
    validator_scopes: frozenset[Scope] = field(default_factory=frozenset)

    @property
    def can_review(self) -> bool:
        """May open the review view (all states, read-only or not)."""
        return self.all_states and (self.can_manage or self.is_reviewer)

    @property
    def state_ids(self) -> frozenset[int]:
        """The member states the scopes name, of whichever body."""
        return frozenset(state_id for _, state_id in self.scopes)

    def scopes_by_body(self) -> dict[int | None, set[int]]:
        by_body: dict[int | None, set[int]] = {}
        for body_id, state_id in self.scopes:
            by_body.setdefault(body_id, set()).add(state_id)
        return by_body

    def sees(self, body_id: int, state_id: int) -> bool:
        return self.all_states or (body_id, state_id) in self.scopes or (None, state_id) in self.scopes

    def sees_item(self, implementation: Implementation) -> bool:
        """Needs `recommendation__meeting` loaded (select_related) to ask no query."""
        recommendation = implementation.recommendation
        confidential_ok = recommendation.is_public or self.sees_confidential
        return confidential_ok and self.sees(recommendation.meeting.body_id, implementation.member_state_id)

    def may_report_on(self, implementation: Implementation) -> bool:
        return self.can_report and self.sees_item(implementation) and not self._validates(implementation)

    def may_validate(self, implementation: Implementation) -> bool:
        """A national validator of the item's state and body (the secretariat never validates for a state)."""
        return self.sees_item(implementation) and self._validates(implementation)

    def _validates(self, implementation: Implementation) -> bool:
        key = (implementation.recommendation.meeting.body_id, implementation.member_state_id)
        return key in self.validator_scopes

    @property
    def is_validator(self) -> bool:
        return bool(self.validator_scopes)


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


def needs_second_factor(user: User | AnonymousUser) -> bool:
    """A staff account (secretariat, reviewer, superuser) that must still prove its second factor in this
    session: always once it has an authenticator, and without one too where the deployment makes two-factor
    sign-in mandatory (it is then sent to enrol). The one check the pages, the admin and the API use."""
    if not user.is_authenticated or not (user.is_superuser or is_secretariat(user) or is_reviewer(user)):
        return False
    verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
    if verified is not None and verified():
        return False
    from django.conf import settings

    return settings.OTP_REQUIRED_FOR_SECRETARIAT or has_authenticator(user)


def has_authenticator(user: User | AnonymousUser) -> bool:
    """Whether the user has a confirmed authenticator (TOTP app or backup codes): one query, memoised on
    the user object, so a request asks it once whatever checks it."""
    if not hasattr(user, "_tracker_has_authenticator"):
        from django_otp.plugins.otp_static.models import StaticDevice
        from django_otp.plugins.otp_totp.models import TOTPDevice

        totp = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).values("pk")
        static = StaticDevice.objects.filter(user_id=user.pk, confirmed=True).values("pk")
        user._tracker_has_authenticator = totp.union(static).exists()  # type: ignore[union-attr]
    return user._tracker_has_authenticator  # type: ignore[union-attr]


def designated_scopes(user: User, today: date | None = None) -> tuple[frozenset[Scope], frozenset[Scope]]:
    """(body, member state) of the user's active designations: all of them, and those as national validator."""
    from tracker.core.models import FocalPointDesignation

    rows = (
        FocalPointDesignation.objects.active(today).filter(user=user).values_list("body_id", "member_state_id", "role")
    )
    validator = FocalPointDesignation.Role.VALIDATOR
    return (
        frozenset((body, state) for body, state, _ in rows),
        frozenset((body, state) for body, state, role in rows if role == validator),
    )


def access_for(user: User | AnonymousUser | None, today: date | None = None) -> Access:
    """The access of a signed-in user; computed once per request by the callers that cache it."""
    if not user or not user.is_authenticated or not user.is_active or needs_second_factor(user):
        return NO_ACCESS
    if is_secretariat(user):
        return Access(all_states=True, sees_confidential=True, can_report=True, can_manage=True)
    if is_reviewer(user):
        return Access(all_states=True, sees_confidential=True, is_reviewer=True)
    scopes, validator_scopes = designated_scopes(user, today or timezone.localdate())
    # A focal point sees a confidential recommendation only as an item of a state and body they act for.
    return Access(
        scopes=scopes,
        sees_confidential=True,
        can_report=bool(scopes - validator_scopes),
        validator_scopes=validator_scopes,
    )


def request_access(request: HttpRequest) -> Access:
    """access_for(request.user), memoised on the request."""
    # The memo is an attribute of our own on the request, which the stubs do not know.
    if not hasattr(request, "_tracker_access"):
        request._tracker_access = access_for(request.user)  # type: ignore[attr-defined]
    return request._tracker_access  # type: ignore[attr-defined]
