"""`tokenization_transfer_facts`, fourth form:

- the named wallets are read by the very statement that locks their investors (FOR NO KEY UPDATE OF the investor,
  in primary-key order), as the ORM path reads them: a wallet registered between a separate lock and read could
  otherwise be read with its investor unlocked;
- the facts' moment is taken once the locks are held (`facts_now`, returned), as the ORM path takes its clock after
  its locks: the caller's clock (`p_now`, the application's, which stamps every other entry) moved on by the time the
  statement has run so far. The windows, KYC expiry and lock-up dates are judged at that moment and the caller
  stamps the entry with it."""

import importlib

from django.db import migrations

_V3 = importlib.import_module("tokenization.migrations.0005_transfer_facts_claims_key")
_V2, _V1 = _V3._V2, _V3._V1

_OLD_OUT = "    OUT key_id bigint, OUT missing text,"
_NEW_OUT = "    OUT key_id bigint, OUT facts_now timestamptz, OUT missing text,"
_OLD_DECLARE = "DECLARE\n    v_account record;\n"
_NEW_DECLARE = "DECLARE\n    v_account record;\n    v_party record;\n"
_OLD_PARTIES = _V1.FACTS[
    _V1.FACTS.index("    IF p_lock THEN  -- the investors named, in primary-key order\n") : _V1.FACTS.index(
        "    IF NOT FOUND THEN missing := 'to_wallet'; RETURN; END IF;\n"
    )
    + len("    IF NOT FOUND THEN missing := 'to_wallet'; RETURN; END IF;\n")
]
_PARTY_COLUMNS = """w.id, w.investor_id, i.user_id, w.address, w.frozen, w.status, i.kyc_status, i.kyc_expires_at,
                   i.country, i.accreditation
            FROM tokenization_wallet w JOIN tokenization_investor i ON i.id = w.investor_id
            WHERE w.address IN (p_from_address, p_to_address) OR w.id IN (p_from_id, p_to_id)"""
_PARTY_BODY = """
            IF (p_from_address IS NOT NULL AND v_party.address = p_from_address) OR v_party.id = p_from_id THEN
                s_wallet := v_party.id; s_investor := v_party.investor_id; s_user := v_party.user_id;
                s_address := v_party.address; s_frozen := v_party.frozen; s_status := v_party.status;
                s_kyc_status := v_party.kyc_status; s_kyc_expires_at := v_party.kyc_expires_at;
                s_country := v_party.country; s_accreditation := v_party.accreditation;
            END IF;
            IF (p_to_address IS NOT NULL AND v_party.address = p_to_address) OR v_party.id = p_to_id THEN
                r_wallet := v_party.id; r_investor := v_party.investor_id; r_address := v_party.address;
                r_frozen := v_party.frozen; r_status := v_party.status; r_kyc_status := v_party.kyc_status;
                r_kyc_expires_at := v_party.kyc_expires_at; r_country := v_party.country;
                r_accreditation := v_party.accreditation;
            END IF;
"""
_NEW_PARTIES = f"""    IF p_lock THEN  -- the named wallets, read by the statement that locks their investors in primary-key order
        FOR v_party IN SELECT {_PARTY_COLUMNS}
            ORDER BY i.id, w.id FOR NO KEY UPDATE OF i
        LOOP{_PARTY_BODY}        END LOOP;
    ELSE
        FOR v_party IN SELECT {_PARTY_COLUMNS}
        LOOP{_PARTY_BODY}        END LOOP;
    END IF;
    IF s_wallet IS NULL THEN missing := 'from_wallet'; RETURN; END IF;
    IF r_wallet IS NULL THEN missing := 'to_wallet'; RETURN; END IF;
    p_now := p_now + (clock_timestamp() - statement_timestamp());  -- the caller's clock, once the locks are held
    facts_now := p_now;
"""
_ARGS = "uuid, text, uuid, text, uuid, numeric, timestamptz, boolean, integer, text, text, text, text, timestamptz"


def _v4(facts: str) -> str:
    for old in (_OLD_OUT, _OLD_DECLARE, _OLD_PARTIES):
        if facts.count(old) != 1:
            raise RuntimeError(f"tokenization_transfer_facts: {old[:60]!r} not found once")
    return facts.replace(_OLD_OUT, _NEW_OUT).replace(_OLD_DECLARE, _NEW_DECLARE).replace(_OLD_PARTIES, _NEW_PARTIES)


def _v3_text() -> str:
    return _V3._v3(_V2._facts(_V1.FACTS))


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION tokenization_transfer_facts({_ARGS})", params=None)
        _V2._create(schema_editor, _v4(_v3_text()))


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP FUNCTION tokenization_transfer_facts({_ARGS})", params=None)
        _V2._create(schema_editor, _v3_text())


class Migration(migrations.Migration):
    dependencies = [("tokenization", "0006_ledger_indexes_lead_with_wallets")]
    operations = [migrations.RunPython(forward, reverse)]
