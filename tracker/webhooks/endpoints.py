"""Registering and changing endpoints through the API, under the caller's limits: a token limited to some
member states registers endpoints limited to (some of) those states, never wider."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tracker.core.models import MemberState
from tracker.webhooks import delivery
from tracker.webhooks.addresses import check_url
from tracker.webhooks.models import Endpoint


def states_within(codes, allowed_state_ids):
    """The member states named by ISO code, if the caller may choose them (`allowed_state_ids` empty: any);
    with none named, the caller's own states."""
    if codes is None:
        return list(MemberState.objects.filter(pk__in=allowed_state_ids))
    wanted = {code.upper() for code in codes}
    found = list(MemberState.objects.filter(iso_code__in=wanted))
    unknown = sorted(wanted - {state.iso_code for state in found})
    if unknown:
        raise ValidationError({"member_states": _("Unknown member states: %(codes)s.") % {"codes": ", ".join(unknown)}})
    outside = sorted(state.iso_code for state in found if allowed_state_ids and state.pk not in allowed_state_ids)
    if outside:
        raise ValidationError(
            {"member_states": _("Your token does not cover: %(codes)s.") % {"codes": ", ".join(outside)}}
        )
    if not found and allowed_state_ids:
        return list(MemberState.objects.filter(pk__in=allowed_state_ids))
    return found


def _checked_url(url):
    try:
        check_url(url)
    except ValidationError as error:
        raise ValidationError({"url": error.messages}) from None
    return url


@transaction.atomic
def register(partner, allowed_state_ids, *, url, events, description="", member_states=None, is_active=True):
    """A new endpoint of the partner, active unless asked otherwise; its secret is `endpoint.secret` (shown to the
    caller once)."""
    endpoint = Endpoint(partner=partner, url=_checked_url(url), description=description, events=list(events))
    endpoint.full_clean(exclude=["partner", "secret"])
    endpoint.save()
    endpoint.member_states.set(states_within(member_states, allowed_state_ids))
    if not is_active:
        delivery.deactivate(endpoint.pk, _("Paused when registered through the API."))
        endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def change(endpoint, allowed_state_ids, **changes):
    """Change what was given (url, description, events, member_states, is_active). Switching it off fails its
    pending deliveries; switching it on again starts a new failure count."""
    states = changes.pop("member_states", None)
    active = changes.pop("is_active", None)
    if "url" in changes:
        _checked_url(changes["url"])
    for field, value in changes.items():
        setattr(endpoint, field, value)
    endpoint.full_clean(exclude=["partner", "secret"])
    endpoint.save()
    if states is not None:
        endpoint.member_states.set(states_within(states, allowed_state_ids))
    if active is False:
        delivery.deactivate(endpoint.pk, _("Disabled through the API."))
    elif active is True and not endpoint.is_active:
        endpoint.enable()
    endpoint.refresh_from_db()
    return endpoint
