"""A Response whose JSON is already rendered (cached with the data it renders, e.g. an asset at one revision)."""

from collections.abc import Callable
from typing import Any

from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response


def json_bytes(data: Any) -> bytes:
    """What DRF's JSONRenderer answers for `data` under a plain `application/json`: the bytes to keep."""
    return JSONRenderer().render(data, JSONRenderer.media_type, {})


class PrerenderedJSONResponse(Response):
    """Served from `rendered_json()` when the negotiated renderer is DRF's JSONRenderer with no media-type parameter
    (the bytes are what it would produce); any other renderer (the browsable API, `; indent=4`) renders `data`."""

    def __init__(self, data: Any, *, rendered_json: Callable[[], bytes], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self._rendered_json = rendered_json

    @property
    def rendered_content(self) -> bytes:
        renderer = getattr(self, "accepted_renderer", None)
        plain = getattr(self, "accepted_media_type", None) == JSONRenderer.media_type
        if type(renderer) is JSONRenderer and plain and self.content_type is None:
            self["Content-Type"] = renderer.media_type  # JSONRenderer has no charset: what DRF sets
            return self._rendered_json()
        return super().rendered_content
