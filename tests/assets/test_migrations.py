"""The assets table's storage settings (assets migration 0004): room on each page for an updated row's next version,
so the frequent updates that change no indexed column (a revaluation's current valuation, an edit's version) are
heap-only and add no index entry."""

import pytest
from django.db import connection

from tests.factories import AssetFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL storage parameter"),
]


def _updates_of_assets_in_this_transaction() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'assets_asset'")
        return cursor.fetchone()


def test_asset_pages_are_filled_to_80_percent():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'assets_asset'")
        assert cursor.fetchone()[0] == ["fillfactor=80"]


def test_updates_of_assets_on_a_filled_page_stay_on_the_page():
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE assets_asset CASCADE")  # fresh pages from block 0 (rolled back with the test)
    AssetFactory.create_batch(60)  # more than a page holds
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM assets_asset WHERE ctid >= '(1,0)'")
        assert cursor.fetchone()[0] > 0, "the first page is full"
        before = _updates_of_assets_in_this_transaction()
        cursor.execute(
            "UPDATE assets_asset SET current_valuation_ref = gen_random_uuid(), version = version + 1 "
            "WHERE id IN (SELECT id FROM assets_asset WHERE ctid < '(1,0)' LIMIT 3)"
        )
        assert cursor.rowcount == 3
    updated, hot = (
        after - earlier for after, earlier in zip(_updates_of_assets_in_this_transaction(), before, strict=True)
    )
    assert (updated, hot) == (3, 3)
