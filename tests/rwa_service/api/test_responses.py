"""A prerendered JSON answer is byte for byte what DRF's JSONRenderer renders; other renderers render as usual."""

import json

import pytest
from rest_framework.renderers import JSONRenderer

from assets.detail_cache import asset_representations_clear


@pytest.mark.django_db
def test_the_cached_json_is_what_drf_renders_and_other_renderers_still_render(users, client_for, make_asset):
    asset = make_asset("approved", name='Café ✓ "quoted"')
    client = client_for(users["auditor"])
    first = client.get(f"/api/v1/assets/{asset.pk}/")
    again = client.get(f"/api/v1/assets/{asset.pk}/")  # served from the cached bytes
    assert first.status_code == again.status_code == 200
    assert first["Content-Type"] == again["Content-Type"] == "application/json"
    assert again.content == first.content == JSONRenderer().render(first.json())
    indented = client.get(f"/api/v1/assets/{asset.pk}/", HTTP_ACCEPT="application/json; indent=4")
    assert indented.content.startswith(b"{\n    ") and json.loads(indented.content) == first.json()
    page = client.get(f"/api/v1/assets/{asset.pk}/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html") and b"Caf" in page.content
    asset_representations_clear()
    assert client.get(f"/api/v1/assets/{asset.pk}/").content == first.content
