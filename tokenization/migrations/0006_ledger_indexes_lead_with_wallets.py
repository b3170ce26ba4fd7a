"""Fewer indexes to maintain per ledger write, the same lookups: the window-sum indexes lead with their wallet and so
serve the wallets' foreign keys (whose own indexes go), the sent-index carries `kind` instead of being partial, the
entry's token index and the leg's (account, entry) index serve the token and account foreign keys."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tokenization", "0005_transfer_facts_claims_key"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="ledgerentry",
            name="ledger_entry_received_idx",
        ),
        migrations.RemoveIndex(
            model_name="ledgerentry",
            name="ledger_entry_sent_idx",
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="from_wallet",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="tokenization.wallet",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="to_wallet",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="tokenization.wallet",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerentry",
            name="token_class",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="tokenization.tokenclass",
            ),
        ),
        migrations.AlterField(
            model_name="ledgerleg",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="legs",
                to="tokenization.account",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                fields=["to_wallet", "token_class", "created_at"], include=("amount",), name="ledger_entry_received_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(
                fields=["from_wallet", "token_class", "created_at"],
                include=("amount", "kind"),
                name="ledger_entry_sent_idx",
            ),
        ),
    ]
