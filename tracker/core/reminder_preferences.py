"""Which reminder e-mails a recipient may turn off, their choices, and the signed link every reminder carries.

The rules, in one place:
- Only the digests are optional (`ReminderOptOut.Kind`): the monthly digest of stalled items (focal points,
  primary and alternate) and the weekly digest of missing reports (the secretariat, its members and its mailbox).
- Reminders of a report deadline (before it, overdue) and of a commitment cannot be turned off, nor the copies of
  escalated reminders: they are how the follow-up works. This holds for an alternate too: an alternate is copied
  once the state is late enough to escalate, and receives the reminders themselves when no primary is designated. The
  secretariat's copies and the reminders of its own commitments are its work. A partner organisation asks the
  secretariat to change its contact address.
- The planner (tracker.reminders.policy) plans no e-mail of a kind its recipient turned off (`OptOuts`), and the
  sender's re-check of what is due cancels one planned before the choice.

A recipient is a user or, without an account (the body's secretariat mailbox, a partner organisation), an
address. Every reminder e-mail links to `Link.token()`: a signed note (django.core.signing, salted, without a
timestamp, so an old e-mail's link keeps working) of whom it was sent to, the kinds of reminders it held and its
language. The one-click unsubscribe of RFC 8058 is posted by the mail provider without a session, so the token is
the credential: whoever holds the e-mail may turn the optional kinds of that e-mail off or on again, nothing more.
A message that other people read too (one with copies, or a copy) is `shared`: its link changes nothing, so a copied
reader can never change the recipient's choices; its page sends to the signed-in preferences page instead.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.encoding import force_bytes

from tracker.core.models import FocalPointDesignation, Language, ReminderOptOut
from tracker.core.permissions import SECRETARIAT_GROUP

Kind = ReminderOptOut.Kind
OPTIONAL_KINDS = frozenset(Kind.values)
SALT = "tracker.reminder-preferences"
LONGEST_TOKEN = 1000  # a real token is about 150 characters: anything far longer is not worth unsigning


def normalized_address(address: str) -> str:
    """Addresses are compared without letter case (the domain is case-insensitive, and so are real mailboxes)."""
    return address.strip().lower()


@dataclass(frozen=True)
class Recipient:
    """Whom a choice belongs to: a user, or an address that has no account."""

    user_id: int | None = None
    address: str = ""

    @classmethod
    def of(cls, user_id: int | None, address: str = "") -> Recipient:
        if user_id is not None:
            return cls(user_id=user_id)
        return cls(address=normalized_address(address))

    def exists(self) -> bool:
        """An address always does; a user's account may have been removed since the e-mail left."""
        return self.user_id is None or get_user_model().objects.filter(pk=self.user_id).exists()

    def opt_outs(self) -> QuerySet[ReminderOptOut]:
        if self.user_id is not None:
            return ReminderOptOut.objects.filter(user_id=self.user_id)
        return ReminderOptOut.objects.filter(user__isnull=True, address=self.address)

    def turned_off(self) -> set[str]:
        return set(self.opt_outs().values_list("kind", flat=True))

    def choose(self, receive: dict[str, bool]) -> None:
        """Receive (True) or not (False) each optional kind named; the other kinds are not the recipient's to choose."""
        on = [kind for kind, wanted in receive.items() if wanted and kind in OPTIONAL_KINDS]
        off = [kind for kind, wanted in receive.items() if not wanted and kind in OPTIONAL_KINDS]
        if on:
            self.opt_outs().filter(kind__in=on).delete()
        if off:  # a double click, or two at once, is no error: the second insert does nothing
            rows = [ReminderOptOut(user_id=self.user_id, address=self.address, kind=kind) for kind in off]
            ReminderOptOut.objects.bulk_create(rows, ignore_conflicts=True)

    def turn_off(self, kinds: tuple[str, ...] | list[str]) -> list[str]:
        """The one-click unsubscribe: turn off the optional ones of `kinds`; returns them (the others stay on)."""
        optional = sorted(set(kinds) & OPTIONAL_KINDS)
        self.choose(dict.fromkeys(optional, False))
        return optional


class _LinkSigner(signing.Signer):
    """Django's Signer with its HMAC key worked out once, not for each of a run's 10,000 e-mails: the same
    signatures (`Link.read` checks them with Django's own Signer)."""

    def __init__(self, key: str) -> None:
        super().__init__(key=key, salt=SALT)
        derived = hashlib.sha256(force_bytes(self.salt) + b"signer" + force_bytes(self.key)).digest()  # as salted_hmac
        self._hmac = hmac.new(derived, digestmod=hashlib.sha256)

    def signature(self, value: str | bytes, key: str | bytes | None = None) -> str:
        if key is not None and key != self.key:
            return super().signature(value, key)
        mac = self._hmac.copy()
        mac.update(value.encode() if isinstance(value, str) else value)
        return signing.b64_encode(mac.digest()).decode()


@lru_cache(maxsize=2)
def _signer(key: str) -> _LinkSigner:
    return _LinkSigner(key)


class BadLink(ValueError):
    """A token that was altered, cut short or never ours."""


@dataclass(frozen=True)
class Link:
    """What the link of one reminder e-mail allows: see the module's docstring."""

    recipient: Recipient | None  # None on a copy: it went to other people than the one reminded
    kinds: tuple[str, ...]
    language: str = Language.ENGLISH
    shared: bool = False  # read by other people too (copied): it changes nothing

    def token(self) -> str:
        payload: dict[str, Any] = {"k": list(self.kinds), "l": self.language}
        if self.recipient is not None:
            if self.recipient.user_id is not None:
                payload["u"] = self.recipient.user_id
            else:
                payload["a"] = self.recipient.address
        if self.shared or self.recipient is None:
            payload["s"] = 1
        return _signer(settings.SECRET_KEY).sign_object(payload)  # compressing 40 bytes of JSON gains nothing

    @classmethod
    def read(cls, token: str) -> Link:
        """The link of a token, or BadLink: altered, cut short, or naming an account that is gone."""
        if not token or len(token) > LONGEST_TOKEN:
            raise BadLink(token[:40])
        try:
            payload = signing.Signer(salt=SALT).unsign_object(token)
        except (signing.BadSignature, ValueError, UnicodeError) as error:  # ValueError: a malformed payload
            raise BadLink(token[:40]) from error
        link = cls._from_payload(payload)
        if link.recipient is not None and not link.recipient.exists():
            raise BadLink("recipient")
        return link

    @classmethod
    def _from_payload(cls, payload: Any) -> Link:
        """Only our own signed payloads reach here; checked anyway, so a change of format fails as a bad link."""
        if not isinstance(payload, dict):
            raise BadLink("payload")
        kinds, language = payload.get("k"), payload.get("l")
        user_id, address = payload.get("u"), payload.get("a")
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise BadLink("kinds")
        if language not in Language.values:
            language = Language.ENGLISH
        recipient = None
        if isinstance(user_id, int):
            recipient = Recipient(user_id=user_id)
        elif isinstance(address, str) and address:
            recipient = Recipient.of(None, address)
        return cls(recipient, tuple(kinds), str(language), shared=bool(payload.get("s")))

    @property
    def may_change(self) -> bool:
        return self.recipient is not None and not self.shared

    @property
    def optional_kinds(self) -> list[str]:
        """The kinds this link may turn off or on: the optional ones of its e-mail, for its one reader."""
        return sorted(set(self.kinds) & OPTIONAL_KINDS) if self.may_change else []

    @property
    def has_fixed_kinds(self) -> bool:
        """The e-mail also held reminders that cannot be turned off."""
        return any(kind not in OPTIONAL_KINDS for kind in self.kinds)


class OptOuts:
    """Every opt-out, loaded in one query for one computation of what is due."""

    def __init__(self, users: set[tuple[int, str]], addresses: set[tuple[str, str]]) -> None:
        self.users = users
        self.addresses = addresses

    @classmethod
    def load(cls) -> OptOuts:
        users: set[tuple[int, str]] = set()
        addresses: set[tuple[str, str]] = set()
        for user_id, address, kind in ReminderOptOut.objects.values_list("user_id", "address", "kind"):
            if user_id is not None:
                users.add((user_id, kind))
            else:
                addresses.add((address, kind))
        return cls(users, addresses)

    def silences(self, user_id: int | None, address: str, kind: str) -> bool:
        """Whether the recipient (a user, or else an address) turned this kind of reminder off."""
        if user_id is not None:
            return (user_id, kind) in self.users
        return (normalized_address(address), kind) in self.addresses


@dataclass(frozen=True)
class ReminderRoles:
    """What a user receives, so the preferences page offers the right choices and says what stays on."""

    primary: bool = False  # a primary focal point: reminded of deadlines and commitments
    alternate: bool = False  # an alternate: copied on escalations (reminded when no primary is designated)
    secretariat: bool = False  # the weekly digest, copies of escalations, the secretariat's own commitments

    @classmethod
    def of(cls, user: AbstractBaseUser | AnonymousUser) -> ReminderRoles:
        if not user.is_authenticated:
            return cls()
        designations = FocalPointDesignation.objects.active(timezone.localdate()).filter(user_id=user.pk)
        roles = set(designations.values_list("role", flat=True))
        return cls(
            primary=FocalPointDesignation.Role.PRIMARY in roles,
            alternate=FocalPointDesignation.Role.ALTERNATE in roles,
            secretariat=get_user_model().objects.filter(pk=user.pk, groups__name=SECRETARIAT_GROUP).exists(),
        )

    @property
    def focal_point(self) -> bool:
        return self.primary or self.alternate

    def optional_kinds(self) -> list[str]:
        kinds = []
        if self.focal_point:
            kinds.append(Kind.STALLED_DIGEST.value)
        if self.secretariat:
            kinds.append(Kind.SECRETARIAT_DIGEST.value)
        return kinds


def choices_of(user: AbstractBaseUser) -> list[str]:
    """The kinds the preferences page offers a user: those they receive, and any they turned off earlier."""
    kinds = ReminderRoles.of(user).optional_kinds()
    turned_off = Recipient.of(user.pk).turned_off()
    return [kind for kind in Kind.values if kind in kinds or kind in turned_off]
