"""Which webhook URLs the service will call, and the address it calls them at: no SSRF into its own network.

A URL must use an allowed scheme (WEBHOOK_ALLOWED_SCHEMES, https only by default), carry no user or password, name a
host allowed by WEBHOOK_ALLOWED_HOSTS (exact names or `*.suffix`; `*` allows any) and resolve only to public
addresses: loopback, private, link-local (cloud metadata at 169.254.169.254), shared, multicast, reserved and
unspecified addresses are refused, IPv4 addresses carried inside IPv6 ones (mapped, compatible, 6to4, NAT64) are
checked as IPv4, unless the host is listed in WEBHOOK_PRIVATE_HOSTS (an internal receiver, named on purpose). The
check runs when a subscription is saved and again before every delivery, and the delivery then connects to the very
address that was checked (webhook_target), so a name that resolves elsewhere a moment later (DNS rebinding) changes
nothing. Redirects are never followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from rwa_service.exceptions import ValidationFailed

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")


@dataclass(frozen=True)
class WebhookTarget:
    """Where to deliver: the URL's parts and the checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(f"Webhook URL refused: {reason}", code="webhook_url_refused", errors={"url": [reason]})


def _host_matches(host: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern == "*" or host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def _inner_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_is_public(text: str) -> bool:
    address = ipaddress.ip_address(text.split("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and (inner := _inner_ipv4(address)) is not None:
        address = inner
    return address.is_global and not address.is_multicast


def webhook_target(url: str) -> WebhookTarget:
    """The checked target of `url`; ValidationFailed (naming `url`) unless the service may call it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _refuse(f"not a URL ({exc}).") from exc
    if parts.scheme not in settings.WEBHOOK_ALLOWED_SCHEMES:
        raise _refuse(f"the scheme must be one of {', '.join(settings.WEBHOOK_ALLOWED_SCHEMES)}.")
    if parts.username or parts.password:
        raise _refuse("credentials in the URL are not accepted; the signature authenticates the service.")
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise _refuse("the URL names no host.")
    if not _host_matches(host, settings.WEBHOOK_ALLOWED_HOSTS):
        raise _refuse(f"the host {host} is not in WEBHOOK_ALLOWED_HOSTS.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _refuse(f"the host {host} does not resolve.") from exc
    addresses = [info[4][0] for info in infos]
    if not _host_matches(host, settings.WEBHOOK_PRIVATE_HOSTS):
        for address in addresses:
            if not address_is_public(address):
                raise _refuse(f"{host} resolves to {address}, an internal or reserved address.")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WebhookTarget(scheme=parts.scheme, host=host, port=port, path=path, address=addresses[0])


def webhook_url_check(url: str) -> None:
    """Raises ValidationFailed (naming `url`) unless the service may call this URL."""
    webhook_target(url)


def webhook_url_redacted(url: str) -> str:
    """The URL without its query and fragment (they may carry a receiver's token): what the audit trail records."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"
