"""No SSRF: webhook URLs must use an allowed scheme, name an allowed host and resolve only to public addresses,
unless the host is an internal receiver listed on purpose."""

import socket

import pytest

from audit.webhook_urls import webhook_url_check
from rwa_service.exceptions import ValidationFailed

PUBLIC = "93.184.215.14"


@pytest.fixture
def resolves_to(monkeypatch):
    """`resolves_to(address)`: every host name resolves to that address (no DNS in tests)."""

    def install(address: str) -> None:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET

        def getaddrinfo(host, port, **kwargs):
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)

    return install


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "0.0.0.0", "::1",
                "fd00::1", "fe80::1", "224.0.0.1", "100.64.0.1"],
)  # fmt: skip
def test_names_resolving_inside_are_refused(resolves_to, address):
    resolves_to(address)
    with pytest.raises(ValidationFailed) as refused:
        webhook_url_check("https://hooks.example.com/in")
    assert "url" in refused.value.errors and "internal or reserved" in refused.value.detail


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/in", "scheme"),
        ("ftp://hooks.example.com/in", "scheme"),
        ("https://user:pw@hooks.example.com/in", "credentials"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:99999/", "not a URL"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(resolves_to, url, reason):
    resolves_to(PUBLIC)
    with pytest.raises(ValidationFailed, match=reason):
        webhook_url_check(url)


def test_a_public_host_passes_and_the_allowlists_apply(resolves_to, settings):
    resolves_to(PUBLIC)
    webhook_url_check("https://hooks.example.com/in")
    settings.WEBHOOK_ALLOWED_HOSTS = ["*.partner.example"]
    webhook_url_check("https://erp.partner.example/in")
    with pytest.raises(ValidationFailed, match="not in WEBHOOK_ALLOWED_HOSTS"):
        webhook_url_check("https://hooks.example.com/in")


def test_an_internal_receiver_passes_only_when_listed_on_purpose(resolves_to, settings):
    resolves_to("10.0.0.5")
    with pytest.raises(ValidationFailed):
        webhook_url_check("https://erp.internal/in")
    settings.WEBHOOK_PRIVATE_HOSTS = ["erp.internal"]
    webhook_url_check("https://erp.internal/in")


def test_an_unresolvable_host_is_refused(monkeypatch):
    def fails(*args, **kwargs):
        raise socket.gaierror("no such host")

    monkeypatch.setattr(socket, "getaddrinfo", fails)
    with pytest.raises(ValidationFailed, match="does not resolve"):
        webhook_url_check("https://nowhere.invalid/in")


@pytest.mark.parametrize("address", ["::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:7f00:1::", "::127.0.0.1",
                                     "64:ff9b::a9fe:a9fe"])  # fmt: skip
def test_ipv4_inside_ipv6_is_checked_as_ipv4(resolves_to, address):
    resolves_to(address)
    with pytest.raises(ValidationFailed, match="internal or reserved"):
        webhook_url_check("https://hooks.example.com/in")
