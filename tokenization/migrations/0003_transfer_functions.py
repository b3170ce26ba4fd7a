"""The transfer as two database calls on PostgreSQL (tokenization/services/transfer_sql.py):

`tokenization_transfer_facts` reads everything the rule engine needs for a transfer between two wallets. To execute
(`p_lock`), it takes the locks in the services' one global order, the same as the ORM path: the investors involved,
then their holder accounts (created first when missing), each in primary-key order, then the token class row only
when the movement changes the number of holders while a max-holders rule is on; and it reserves the entry's id. As
a dry run it takes no lock and writes nothing. Each statement reads the latest committed state (READ COMMITTED), so
the facts read after a lock are those the lock protects. The rules themselves are decided in Python
(tokenization.compliance.decide), on both paths.

`tokenization_transfer_post` writes the allowed transfer: the entry, its two legs, both balances (the rows are
locked already), the request's idempotent answer when there is one, and the audit event last (audit_event_append),
so the chain head is held only from there to COMMIT. Every constraint and trigger of the ORM path still applies."""

from django.db import migrations

FACTS = r"""
CREATE OR REPLACE FUNCTION tokenization_transfer_facts(
    p_token uuid, p_from_address text, p_from_id uuid, p_to_address text, p_to_id uuid, p_amount numeric,
    p_now timestamptz, p_lock boolean,
    OUT missing text, OUT token_status text, OUT total_supply numeric, OUT max_supply numeric,
    OUT rules_found boolean, OUT require_kyc boolean, OUT min_accreditation text, OUT allowed_countries text,
    OUT blocked_countries text, OUT max_holders integer, OUT max_balance_amount numeric,
    OUT max_balance_percent numeric, OUT lockup_until timestamptz, OUT lockup_days integer,
    OUT velocity_limit numeric, OUT velocity_window_hours integer,
    OUT s_wallet uuid, OUT s_investor uuid, OUT s_user integer, OUT s_address text, OUT s_frozen boolean,
    OUT s_status text, OUT s_kyc_status text, OUT s_kyc_expires_at timestamptz, OUT s_country text,
    OUT s_accreditation text, OUT s_account bigint, OUT s_balance numeric, OUT s_frozen_amount numeric,
    OUT s_total numeric, OUT s_received numeric, OUT s_sent numeric,
    OUT r_wallet uuid, OUT r_investor uuid, OUT r_address text, OUT r_frozen boolean,
    OUT r_status text, OUT r_kyc_status text, OUT r_kyc_expires_at timestamptz, OUT r_country text,
    OUT r_accreditation text, OUT r_account bigint, OUT r_balance numeric, OUT r_frozen_amount numeric,
    OUT r_total numeric, OUT holders_count integer, OUT entry_id bigint
) AS $$
DECLARE
    v_account record;
    v_changes boolean;
    v_lockup_since timestamptz;
    v_velocity_since timestamptz;
BEGIN
    IF p_lock THEN  -- the investors named, in primary-key order
        PERFORM 1 FROM tokenization_investor i
            WHERE i.id IN (SELECT w.investor_id FROM tokenization_wallet w
                           WHERE w.address IN (p_from_address, p_to_address) OR w.id IN (p_from_id, p_to_id))
            ORDER BY i.id FOR NO KEY UPDATE;
    END IF;
    SELECT w.id, w.investor_id, i.user_id, w.address, w.frozen, w.status, i.kyc_status, i.kyc_expires_at,
           i.country, i.accreditation
        INTO s_wallet, s_investor, s_user, s_address, s_frozen, s_status, s_kyc_status, s_kyc_expires_at,
             s_country, s_accreditation
        FROM tokenization_wallet w JOIN tokenization_investor i ON i.id = w.investor_id
        WHERE CASE WHEN p_from_address IS NOT NULL THEN w.address = p_from_address ELSE w.id = p_from_id END;
    IF NOT FOUND THEN missing := 'from_wallet'; RETURN; END IF;
    SELECT w.id, w.investor_id, w.address, w.frozen, w.status, i.kyc_status, i.kyc_expires_at,
           i.country, i.accreditation
        INTO r_wallet, r_investor, r_address, r_frozen, r_status, r_kyc_status, r_kyc_expires_at,
             r_country, r_accreditation
        FROM tokenization_wallet w JOIN tokenization_investor i ON i.id = w.investor_id
        WHERE CASE WHEN p_to_address IS NOT NULL THEN w.address = p_to_address ELSE w.id = p_to_id END;
    IF NOT FOUND THEN missing := 'to_wallet'; RETURN; END IF;

    SELECT t.status, t.total_supply, t.max_supply INTO token_status, total_supply, max_supply
        FROM tokenization_tokenclass t WHERE t.id = p_token;
    IF NOT FOUND THEN missing := 'token'; RETURN; END IF;
    SELECT true, r.require_kyc, r.min_accreditation, r.allowed_countries::text, r.blocked_countries::text,
           r.max_holders, r.max_balance_amount, r.max_balance_percent, r.lockup_until, r.lockup_days,
           r.velocity_limit, r.velocity_window_hours
        INTO rules_found, require_kyc, min_accreditation, allowed_countries, blocked_countries, max_holders,
             max_balance_amount, max_balance_percent, lockup_until, lockup_days, velocity_limit,
             velocity_window_hours
        FROM tokenization_transferrules r WHERE r.token_class_id = p_token;
    rules_found := FOUND;

    IF p_lock THEN  -- their holder accounts in this token, created when missing, in primary-key order
        INSERT INTO tokenization_account (token_class_id, kind, wallet_id, balance, frozen_amount, created_at,
                                          updated_at)
            SELECT p_token, 'holder', w.id, 0, 0, p_now, p_now FROM unnest(ARRAY[s_wallet, r_wallet]) AS w(id)
            WHERE NOT EXISTS (SELECT 1 FROM tokenization_account a
                              WHERE a.token_class_id = p_token AND a.kind = 'holder' AND a.wallet_id = w.id)
            ON CONFLICT (token_class_id, wallet_id) WHERE kind = 'holder' DO NOTHING;
        FOR v_account IN
            SELECT a.id, a.wallet_id, a.balance, a.frozen_amount FROM tokenization_account a
                WHERE a.token_class_id = p_token AND a.kind = 'holder' AND a.wallet_id IN (s_wallet, r_wallet)
                ORDER BY a.id FOR NO KEY UPDATE
        LOOP
            IF v_account.wallet_id = s_wallet THEN
                s_account := v_account.id; s_balance := v_account.balance; s_frozen_amount := v_account.frozen_amount;
            END IF;
            IF v_account.wallet_id = r_wallet THEN
                r_account := v_account.id; r_balance := v_account.balance; r_frozen_amount := v_account.frozen_amount;
            END IF;
        END LOOP;
    ELSE
        FOR v_account IN
            SELECT a.id, a.wallet_id, a.balance, a.frozen_amount FROM tokenization_account a
                WHERE a.token_class_id = p_token AND a.kind = 'holder' AND a.wallet_id IN (s_wallet, r_wallet)
        LOOP
            IF v_account.wallet_id = s_wallet THEN
                s_account := v_account.id; s_balance := v_account.balance; s_frozen_amount := v_account.frozen_amount;
            END IF;
            IF v_account.wallet_id = r_wallet THEN
                r_account := v_account.id; r_balance := v_account.balance; r_frozen_amount := v_account.frozen_amount;
            END IF;
        END LOOP;
    END IF;
    s_balance := COALESCE(s_balance, 0); s_frozen_amount := COALESCE(s_frozen_amount, 0);
    r_balance := COALESCE(r_balance, 0); r_frozen_amount := COALESCE(r_frozen_amount, 0);

    -- each investor's holding in this token over all their wallets
    SELECT COALESCE(SUM(a.balance) FILTER (WHERE w.investor_id = s_investor), 0),
           COALESCE(SUM(a.balance) FILTER (WHERE w.investor_id = r_investor), 0)
        INTO s_total, r_total
        FROM tokenization_account a JOIN tokenization_wallet w ON w.id = a.wallet_id
        WHERE a.token_class_id = p_token AND a.kind = 'holder' AND w.investor_id IN (s_investor, r_investor);

    -- the max-holders rule's inputs, only when this movement makes a holder or leaves one holding nothing
    v_changes := s_investor <> r_investor AND (r_total = 0 OR s_total = p_amount);
    holders_count := 0;
    IF max_holders IS NOT NULL AND v_changes THEN
        IF p_lock THEN  -- the holder count must not change under us: the token row, after the accounts
            SELECT t.status, t.total_supply, t.max_supply INTO token_status, total_supply, max_supply
                FROM tokenization_tokenclass t WHERE t.id = p_token FOR NO KEY UPDATE;
        END IF;
        SELECT count(DISTINCT w.investor_id) INTO holders_count
            FROM tokenization_account a JOIN tokenization_wallet w ON w.id = a.wallet_id
            WHERE a.token_class_id = p_token AND a.kind = 'holder' AND a.balance > 0;
    END IF;

    -- the sending investor's receipts within the lock-up days and transfers out within the velocity window
    s_received := 0; s_sent := 0;
    IF lockup_days > 0 THEN v_lockup_since := p_now - make_interval(days => lockup_days); END IF;
    IF velocity_limit IS NOT NULL THEN v_velocity_since := p_now - make_interval(hours => velocity_window_hours); END IF;
    IF v_lockup_since IS NOT NULL OR v_velocity_since IS NOT NULL THEN
        SELECT COALESCE(SUM(l.amount) FILTER (WHERE l.amount > 0 AND e.created_at > v_lockup_since), 0),
               COALESCE(-SUM(l.amount) FILTER (WHERE l.amount < 0 AND e.kind = 'transfer'
                                               AND e.created_at > v_velocity_since), 0)
            INTO s_received, s_sent
            FROM tokenization_ledgerleg l
            JOIN tokenization_ledgerentry e ON e.id = l.entry_id
            JOIN tokenization_account a ON a.id = l.account_id
            JOIN tokenization_wallet w ON w.id = a.wallet_id
            WHERE a.token_class_id = p_token AND a.kind = 'holder' AND w.investor_id = s_investor
              AND e.created_at > LEAST(v_lockup_since, v_velocity_since);
    END IF;

    IF p_lock THEN
        entry_id := nextval('{entry_seq}');
    END IF;
END;
$$ LANGUAGE plpgsql
"""

POST = r"""
CREATE OR REPLACE FUNCTION tokenization_transfer_post(
    p_entry bigint, p_token uuid, p_kind text, p_amount numeric, p_from_wallet uuid, p_to_wallet uuid,
    p_debit bigint, p_credit bigint, p_actor text, p_reason text, p_settlement_ref text, p_created_at timestamptz,
    p_key bigint, p_answer_status integer, p_answer_body text,
    p_audit_actor text, p_audit_actor_user_id bigint, p_audit_action text, p_audit_object_type text,
    p_audit_object_id text, p_audit_before jsonb, p_audit_after jsonb, p_audit_reason text, p_audit_request_id text,
    p_audit_canon_head text, p_audit_canon_tail text
) RETURNS bigint AS $$
BEGIN
    INSERT INTO tokenization_ledgerentry (id, token_class_id, kind, amount, from_wallet_id, to_wallet_id, actor,
                                          reason, settlement_ref, created_at)
        VALUES (p_entry, p_token, p_kind, p_amount, p_from_wallet, p_to_wallet, p_actor, p_reason,
                p_settlement_ref, p_created_at);
    INSERT INTO tokenization_ledgerleg (entry_id, account_id, amount, created_at)
        VALUES (p_entry, p_debit, -p_amount, p_created_at), (p_entry, p_credit, p_amount, p_created_at);
    UPDATE tokenization_account
        SET balance = balance + CASE WHEN id = p_credit THEN p_amount ELSE -p_amount END, updated_at = p_created_at
        WHERE id IN (p_debit, p_credit);
    IF p_key IS NOT NULL THEN
        UPDATE idempotency_idempotencykey
            SET response_status = p_answer_status, response_body = p_answer_body, updated_at = p_created_at
            WHERE id = p_key;
        IF NOT FOUND THEN RAISE EXCEPTION 'idempotency key % is not claimed', p_key; END IF;
    END IF;
    RETURN audit_event_append(p_audit_actor, p_audit_actor_user_id, p_audit_action, p_audit_object_type,
                              p_audit_object_id, p_audit_before, p_audit_after, p_audit_reason, p_audit_request_id,
                              p_audit_canon_head, p_audit_canon_tail);
END;
$$ LANGUAGE plpgsql
"""

REVERSE = """
DROP FUNCTION IF EXISTS tokenization_transfer_post(bigint, uuid, text, numeric, uuid, uuid, bigint, bigint, text, text,
    text, timestamptz, bigint, integer, text, text, bigint, text, text, text, jsonb, jsonb, text, text, text, text);
DROP FUNCTION IF EXISTS tokenization_transfer_facts(uuid, text, uuid, text, uuid, numeric, timestamptz, boolean);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('tokenization_ledgerentry', 'id')")
        (entry_seq,) = cursor.fetchone()
    schema_editor.execute(FACTS.replace("{entry_seq}", entry_seq), params=None)
    schema_editor.execute(POST, params=None)


def reverse(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("tokenization", "0002_ledger_guards"), ("audit", "0006_event_append_function"),
                    ("idempotency", "0002_response_body_as_text")]  # fmt: skip
    operations = [migrations.RunPython(forward, reverse)]
