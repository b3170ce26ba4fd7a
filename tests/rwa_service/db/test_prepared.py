"""prepared_row: the row or None, the same after a rolled-back transaction (statements outlive it), errors as
Django's database errors with the connection still usable, and logged like any query."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from assets.models import Asset
from rwa_service.db.prepared import prepared_row

SQL = f"SELECT name, version FROM {Asset._meta.db_table} WHERE id = %s"


def _key(asset_id):
    return Asset._meta.pk.get_db_prep_value(asset_id, connection)


@pytest.mark.django_db
def test_it_reads_one_row_or_none_and_survives_a_rollback(make_asset):
    asset = make_asset()
    for _ in range(6):  # past psycopg's prepare threshold, whatever it is
        assert prepared_row(SQL, [_key(asset.pk)]) == ("Harbour Office", 1)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert prepared_row(SQL, [_key(asset.pk)]) == ("Harbour Office", 1)
        1 / 0  # noqa: B018
    assert prepared_row(SQL, [_key(asset.pk)]) == ("Harbour Office", 1)
    assert prepared_row(SQL, [_key("00000000-0000-0000-0000-000000000000")]) is None


@pytest.mark.django_db
def test_errors_are_djangos_and_the_connection_stays_usable(make_asset):
    asset = make_asset()
    with pytest.raises(DatabaseError), transaction.atomic():
        prepared_row("SELECT no_such_column FROM assets_asset WHERE id = %s", [_key(asset.pk)])
    with CaptureQueriesContext(connection) as queries:
        assert prepared_row(SQL, [_key(asset.pk)])[1] == 1
    assert len(queries) == 1 and "version" in queries[0]["sql"]
