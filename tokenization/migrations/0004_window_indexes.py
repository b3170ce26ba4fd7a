"""Two indexes for the lock-up and velocity rules' window sums, and `tokenization_transfer_facts` reading those sums
from the entries through them (the entry carries both wallets and the amount of its legs) instead of joining every
leg of the investor's accounts to its entry: the same sums, each an index range scan in time order."""

import importlib

from django.db import migrations, models

_V1 = importlib.import_module("tokenization.migrations.0003_transfer_functions")

_JOINED_WINDOWS = """        SELECT COALESCE(SUM(l.amount) FILTER (WHERE l.amount > 0 AND e.created_at > v_lockup_since), 0),
               COALESCE(-SUM(l.amount) FILTER (WHERE l.amount < 0 AND e.kind = 'transfer'
                                               AND e.created_at > v_velocity_since), 0)
            INTO s_received, s_sent
            FROM tokenization_ledgerleg l
            JOIN tokenization_ledgerentry e ON e.id = l.entry_id
            JOIN tokenization_account a ON a.id = l.account_id
            JOIN tokenization_wallet w ON w.id = a.wallet_id
            WHERE a.token_class_id = p_token AND a.kind = 'holder' AND w.investor_id = s_investor
              AND e.created_at > LEAST(v_lockup_since, v_velocity_since);
"""

_INDEXED_WINDOWS = """        IF v_lockup_since IS NOT NULL THEN  -- ledger_entry_received_idx
            SELECT COALESCE(SUM(e.amount), 0) INTO s_received FROM tokenization_ledgerentry e
                WHERE e.token_class_id = p_token AND e.created_at > v_lockup_since
                  AND e.to_wallet_id IN (SELECT w.id FROM tokenization_wallet w WHERE w.investor_id = s_investor);
        END IF;
        IF v_velocity_since IS NOT NULL THEN  -- ledger_entry_sent_idx
            SELECT COALESCE(SUM(e.amount), 0) INTO s_sent FROM tokenization_ledgerentry e
                WHERE e.token_class_id = p_token AND e.kind = 'transfer' AND e.created_at > v_velocity_since
                  AND e.from_wallet_id IN (SELECT w.id FROM tokenization_wallet w WHERE w.investor_id = s_investor);
        END IF;
"""


def _facts(facts: str) -> str:
    if _JOINED_WINDOWS not in facts:
        raise RuntimeError("tokenization_transfer_facts: the window sums to replace were not found")
    return facts.replace(_JOINED_WINDOWS, _INDEXED_WINDOWS)


def _create(schema_editor, facts: str) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('tokenization_ledgerentry', 'id')")
        (entry_seq,) = cursor.fetchone()
    schema_editor.execute(facts.replace("{entry_seq}", entry_seq), params=None)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _create(schema_editor, _facts(_V1.FACTS))


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _create(schema_editor, _V1.FACTS)


class Migration(migrations.Migration):
    dependencies = [
        ("tokenization", "0003_transfer_functions"),
    ]

    operations = [
        migrations.RunPython(forward, reverse),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                fields=["token_class", "to_wallet", "created_at"], include=("amount",), name="ledger_entry_received_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(("kind", "transfer")),
                fields=["token_class", "from_wallet", "created_at"],
                include=("amount",),
                name="ledger_entry_sent_idx",
            ),
        ),
    ]
