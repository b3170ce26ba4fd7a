"""one_or_not_found: the row, or NotFound with the caller's words for a missing row and for a malformed key alike."""

import pytest

from assets.models import Asset
from rwa_service.db.found import one_or_not_found
from rwa_service.exceptions import NotFound

pytestmark = pytest.mark.django_db


def test_it_returns_the_one_row_the_lookup_names(make_asset):
    asset = make_asset()
    assert one_or_not_found(Asset.objects.all(), "No such asset.", pk=asset.pk) == asset
    assert one_or_not_found(Asset.objects.all(), "No such asset.", pk=str(asset.pk), name=asset.name) == asset


@pytest.mark.parametrize("key", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "", 12, None, ["a"]], ids=repr)
def test_a_missing_or_malformed_key_is_not_found_with_the_callers_words(make_asset, key):
    make_asset()
    with pytest.raises(NotFound) as caught:
        one_or_not_found(Asset.objects.all(), "No such asset.", pk=key)
    assert caught.value.detail == "No such asset."


def test_a_filter_that_excludes_the_row_is_not_found(make_asset):
    asset = make_asset()
    with pytest.raises(NotFound):
        one_or_not_found(Asset.objects.exclude(pk=asset.pk), "No such asset.", pk=asset.pk)
