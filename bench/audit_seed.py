"""Seeds the audit benchmark (issue #5): N chained events through the service that writes them in production
(`audit_events_record`, batches of 5,000 per transaction), shaped like the real trail: asset snapshots with
metadata, ledger entries, valuations with their inputs, investor changes (PII masked), a few with reasons.

    python bench/audit_seed.py --events 1000000
"""

import argparse
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rwa_service.settings.production")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402

from audit.services import Actor, EventDraft, audit_events_record  # noqa: E402

BATCH = 5000


def _draft(rng: random.Random, n: int) -> EventDraft:
    kind = n % 4
    object_id = str(uuid.UUID(int=rng.getrandbits(128)))
    if kind == 0:
        after = {"id": object_id, "reference": f"RE-2026-{n:06d}", "name": f"Harbour Office {n}",
                 "asset_type": "real_estate", "status": "approved", "jurisdiction": "GB", "currency": "GBP",
                 "description": "", "issuer_name": "Harbour Holdings Ltd", "status_reason": "", "version": n % 9 + 1,
                 "metadata": {"address": f"{n} Quay Street, London", "area_sqm": 1000 + n % 500,
                              "property_type": "office", "year_built": 1990 + n % 30}}  # fmt: skip
        return EventDraft(action="asset.approved", object_type="asset", object_id=object_id,
                          before={**after, "status": "under_review"}, after=after, reason="checked")  # fmt: skip
    if kind == 1:
        after = {"seq": n, "token": object_id, "kind": "transfer", "amount": str(rng.randint(1, 10**9)),
                 "from_wallet": str(uuid.uuid4()), "to_wallet": str(uuid.uuid4()),
                 "settlement_ref": "ledger"}  # fmt: skip
        return EventDraft(action="transfer.settled", object_type="token", object_id=object_id, before=None, after=after)
    if kind == 2:
        after = {"id": str(uuid.uuid4()), "asset": object_id, "method": "index",
                 "value": f"{rng.randint(10**5, 10**8)}.00", "currency": "GBP", "as_of": "2026-11-28",
                 "status": "approved", "recorded_by": "system:revaluation", "approved_by": None,
                 "inputs": {"series": "HPI", "base_index_level": "100", "index_level": "103.7"}}  # fmt: skip
        return EventDraft(action="valuation.recorded", object_type="valuation", object_id=after["id"], before=None,
                          after=after)  # fmt: skip
    after = {"id": object_id, "type": "individual", "country": "GB", "kyc_status": "verified",
             "legal_name": "***", "email": "***", "tax_id": "***", "accreditation": "professional"}  # fmt: skip
    return EventDraft(action="investor.updated", object_type="investor", object_id=object_id,
                      before={**after, "kyc_status": "pending"}, after=after)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    rng, started, written = random.Random(5), time.monotonic(), 0
    actor = Actor.system("bench")
    while written < args.events:
        size = min(BATCH, args.events - written)
        with transaction.atomic():
            audit_events_record(actor=actor, events=[_draft(rng, written + i) for i in range(size)],
                                request_id=f"bench-{written}")  # fmt: skip
        written += size
    print(f"seeded {written} audit events in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
