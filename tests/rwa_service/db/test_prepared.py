"""prepared_row: the row or None, the same after a rolled-back transaction (statements outlive it), errors as
Django's database errors with the connection still usable, and logged like any query; a call that opens a transaction
(sent with its BEGIN in one round trip on PostgreSQL) belongs to it."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from assets.models import Asset
from rwa_service.db import prepared as prepared_module
from rwa_service.db.prepared import prepared_record, prepared_row

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


BUMP = f"UPDATE {Asset._meta.db_table} SET version = version + 1 WHERE id = %s RETURNING version"


@pytest.mark.django_db(transaction=True)
def test_a_call_that_opens_a_transaction_commits_and_rolls_back_with_it(make_asset):
    asset = make_asset()
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        assert prepared_row(BUMP, [_key(asset.pk)]) == (2,)  # the transaction's first statement
        if connection.vendor == "postgresql":
            assert connection.connection.info.transaction_status.name == "INTRANS"
        1 / 0  # noqa: B018
    assert Asset.objects.get(pk=asset.pk).version == 1
    for expected in (2, 3):
        with transaction.atomic():
            assert prepared_row(BUMP, [_key(asset.pk)]) == (expected,)
        assert Asset.objects.get(pk=asset.pk).version == expected


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_call_that_opens_a_transaction_rolls_it_back_and_the_connection_goes_on(make_asset):
    asset = make_asset()
    with pytest.raises(DatabaseError), transaction.atomic():
        prepared_row("SELECT no_such_column FROM assets_asset WHERE id = %s", [_key(asset.pk)])
    with transaction.atomic():
        assert prepared_row(BUMP, [_key(asset.pk)]) == (2,)
        assert prepared_row(SQL, [_key(asset.pk)])[1] == 2  # a second call of the same transaction
    assert Asset.objects.get(pk=asset.pk).version == 2


@pytest.mark.django_db
def test_a_record_names_its_columns_and_a_statement_whose_columns_changed_is_read_afresh(make_asset):
    asset = make_asset()
    narrow = f"SELECT name FROM {Asset._meta.db_table} WHERE id = %s"
    for _ in range(3):
        assert prepared_record(SQL, [_key(asset.pk)]) == {"name": "Harbour Office", "version": 1}
    prepared_module._columns[narrow] = ["name", "version"]  # as if the statement had returned two columns before
    assert prepared_record(narrow, [_key(asset.pk)]) == {"name": "Harbour Office"}
    assert prepared_record(narrow, [_key("00000000-0000-0000-0000-000000000000")]) is None
