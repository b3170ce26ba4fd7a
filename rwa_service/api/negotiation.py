"""Content negotiation: DRF's own, with its commonest answer given without parsing the Accept header.

An API client that sends no Accept header, `*/*` or exactly the first renderer's media type (`application/json`),
and no `?format=` override, gets the first renderer: the answer DefaultContentNegotiation gives after parsing (a
wildcard or an exact match of the first renderer yields that renderer with its own media type). Anything else (the
browsable API's `text/html`, quality values, parameters such as `indent=`) goes to DRF's full negotiation.
"""

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request


class ContentNegotiation(DefaultContentNegotiation):
    """DefaultContentNegotiation with a fast path for JSON clients (see the module docstring)."""

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        if renderers and format_suffix is None and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            first = renderers[0]
            if request.META.get("HTTP_ACCEPT", "*/*") in ("*/*", first.media_type):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
