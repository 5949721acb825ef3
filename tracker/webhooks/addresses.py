"""Which URLs an endpoint may have, and which addresses a delivery may reach.

A webhook makes this server send requests where a partner says: without rules a partner could make it call
services on its own network (server-side request forgery). So:

- at registration: HTTPS (WEBHOOK_REQUIRE_HTTPS), no credentials in the URL, and no host that names a private,
  loopback, link-local or otherwise non-public address outright (an IP literal, "localhost");
- at every delivery: the host is resolved then, every address it resolves to must be public, and the request
  goes to the address that was checked (a name that resolves elsewhere a moment later is not asked again).

WEBHOOK_ALLOW_PRIVATE_ADDRESSES (development, tests on loopback) lifts the address rule; WEBHOOK_ALLOWED_NETWORKS
lets named private networks through (a partner's system on an internal network) and nothing else.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _


class Refused(Exception):
    """A delivery's host resolved to an address that may not be reached, or did not resolve."""


def _is_public(address):
    address = getattr(address, "ipv4_mapped", None) or address
    return address.is_global and not address.is_multicast


def may_reach(address):
    """Whether a delivery may go to this IP address."""
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES or _is_public(address):
        return True
    return any(address in ipaddress.ip_network(network, strict=False) for network in settings.WEBHOOK_ALLOWED_NETWORKS)


def _literal(host):
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url):
    """The registration rules; a ValidationError names what is wrong."""
    try:
        URLValidator(schemes=["http", "https"])(url)
        parts = urlsplit(url)
        port = parts.port
    except (ValidationError, ValueError):
        raise ValidationError(_("Enter a valid URL.")) from None
    schemes = {"https"} if settings.WEBHOOK_REQUIRE_HTTPS else {"https", "http"}
    if parts.scheme not in schemes:
        raise ValidationError(_("Use an https:// URL."))
    if parts.username or parts.password:
        raise ValidationError(_("Put no user name or password in the URL: deliveries are signed instead."))
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValidationError(_("Enter a valid URL."))
    if port == 0:
        raise ValidationError(_("Enter a valid URL."))
    literal = _literal(host)
    local_name = host == "localhost" or host.endswith(".localhost")
    if (literal is not None and not may_reach(literal)) or (
        local_name and not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES
    ):
        raise ValidationError(_("This address is on a private network: give the partner system's public address."))


def resolve(url):
    """(host, port, address to connect to) for a delivery, or Refused saying why not."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Refused(
            _("The host name %(host)s does not resolve (%(error)s).") % {"host": host, "error": error}
        ) from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    refused = [str(address) for address in addresses if not may_reach(address)]
    if refused or not addresses:
        raise Refused(
            _("%(host)s resolves to an address on a private network, which may not be reached: %(addresses)s.")
            % {"host": host, "addresses": ", ".join(refused)}
        )
    return host, port, str(addresses[0])
