"""Which webhook URLs the service will call: no SSRF into the service's own network.

A URL must use an allowed scheme (WEBHOOK_ALLOWED_SCHEMES, https only by default), carry no user or password, name a
host allowed by WEBHOOK_ALLOWED_HOSTS (exact names or `*.suffix`; `*` allows any) and resolve only to public
addresses: loopback, private, link-local (cloud metadata at 169.254.169.254), multicast, reserved and unspecified
addresses are refused, unless the host is listed in WEBHOOK_PRIVATE_HOSTS (an internal receiver, named on purpose).
The check runs when a subscription is saved and again before every delivery (the name may resolve elsewhere by
then); redirects are never followed.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from rwa_service.exceptions import ValidationFailed


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(f"Webhook URL refused: {reason}", code="webhook_url_refused", errors={"url": [reason]})


def _host_matches(host: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if pattern == "*" or host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def webhook_url_check(url: str) -> None:
    """Raises ValidationFailed (naming `url`) unless the service may call this URL."""
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
    if _host_matches(host, settings.WEBHOOK_PRIVATE_HOSTS):
        return
    try:
        infos = socket.getaddrinfo(host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _refuse(f"the host {host} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise _refuse(f"{host} resolves to {address}, an internal or reserved address.")
