"""The project's content negotiation answers exactly as DRF's DefaultContentNegotiation, fast path or not."""

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from rwa_service.api.negotiation import ContentNegotiation

RENDERERS = [JSONRenderer(), BrowsableAPIRenderer()]


def _request(accept: str | None, query: str = "") -> Request:
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get(f"/api/v1/assets/{query}", **headers))


def _answer(negotiation, request, suffix=None):
    try:
        renderer, media_type = negotiation.select_renderer(request, RENDERERS, suffix)
    except NotAcceptable:
        return "406"
    except Http404:
        return "404"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize(
    ("accept", "query", "suffix"),
    [
        (None, "", None),
        ("*/*", "", None),
        ("application/json", "", None),
        ("text/html", "", None),
        ("application/json; indent=4", "", None),
        ("text/html, application/json;q=0.9", "", None),
        ("application/xml", "", None),
        ("*/*", "?format=api", None),
        ("application/json", "?format=json", None),
        ("*/*", "?format=xml", None),
        ("*/*", "", "api"),
    ],
)
def test_the_answer_is_drfs_own(accept, query, suffix):
    ours = _answer(ContentNegotiation(), _request(accept, query), suffix)
    drfs = _answer(DefaultContentNegotiation(), _request(accept, query), suffix)
    assert ours == drfs


def test_a_json_client_gets_json_without_parsing_the_accept_header(monkeypatch):
    def parsing_forbidden(*args, **kwargs):
        raise AssertionError("the fast path parsed the Accept header")

    monkeypatch.setattr(DefaultContentNegotiation, "select_renderer", parsing_forbidden)
    for accept in (None, "*/*", "application/json"):
        assert _answer(ContentNegotiation(), _request(accept)) == ("JSONRenderer", "application/json")
