"""Seeds the benchmark database: one operator (through the accounts service, so roles and audit are real) and
N assets (a few through `asset_create`, the rest bulk-inserted for speed), then writes the ids the load generator
reads. Run by bench/http_bench.sh with the benchmark's environment (production settings, PostgreSQL).

    python bench/seed.py --assets 10000 --username bench-operator --password ... --ids-file ids.txt
"""

import argparse
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rwa_service.settings.production")

import django  # noqa: E402

django.setup()

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from assets.asset_types import REFERENCE_PREFIXES  # noqa: E402
from assets.models import Asset, AssetReferenceCounter, AssetStatus  # noqa: E402
from assets.services import asset_create  # noqa: E402
from audit.services import Actor  # noqa: E402
from rwa_service.accounts.services import user_create  # noqa: E402

# One valid metadata example per type we seed, checked by asset_create for the service-created rows.
METADATA = {
    "real_estate": {"address": "1 Main St", "property_type": "commercial", "area_sqm": 1200},
    "fixed_income": {"principal": "1000000.00", "coupon_rate": "4.25", "maturity_date": "2031-06-30"},
    "commodity": {"commodity": "gold", "quantity": "400", "unit": "troy_oz", "vault": "London-1"},
}
JURISDICTIONS = [("GB", "GBP"), ("US", "USD"), ("DE", "EUR"), ("FR", "EUR"), ("CH", "CHF"), ("SG", "SGD")]
VIA_SERVICE = 30  # assets created through asset_create (reference counter + audit), per run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=10_000)
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--ids-file", required=True, help="where to write detail ids, one per line")
    parser.add_argument("--sample", type=int, default=1000, help="how many ids to write")
    args = parser.parse_args()
    started = time.monotonic()
    rng = random.Random(42)

    user = user_create(actor=Actor.system("bench"), username=args.username, password=args.password, roles=["operator"])
    types = list(METADATA)
    for i in range(min(VIA_SERVICE, args.assets)):
        asset_type = types[i % len(types)]
        jurisdiction, currency = JURISDICTIONS[i % len(JURISDICTIONS)]
        asset_create(
            actor=user,
            name=f"Bench asset {i:05d}",
            asset_type=asset_type,
            jurisdiction=jurisdiction,
            currency=currency,
            description="Created through the asset service by bench/seed.py.",
            metadata=METADATA[asset_type],
            issuer_name="Bench Issuer Ltd",
        )

    # The bulk: same shapes, references continuing each prefix's counter, statuses spread like a live registry.
    year = timezone.now().year
    counters = {
        c.prefix: c for c in AssetReferenceCounter.objects.filter(year=year, prefix__in=REFERENCE_PREFIXES.values())
    }
    statuses = [AssetStatus.DRAFT] * 5 + [AssetStatus.APPROVED] * 3 + [AssetStatus.RETIRED]
    rows = []
    for i in range(VIA_SERVICE, args.assets):
        asset_type = types[i % len(types)]
        prefix = REFERENCE_PREFIXES[asset_type]
        counter = counters.get(prefix) or AssetReferenceCounter.objects.create(prefix=prefix, year=year)
        counters[prefix] = counter
        counter.last += 1
        jurisdiction, currency = JURISDICTIONS[i % len(JURISDICTIONS)]
        rows.append(
            Asset(
                reference=f"{prefix}-{year}-{counter.last:06d}",
                name=f"Bench asset {i:05d}",
                asset_type=asset_type,
                status=rng.choice(statuses),
                jurisdiction=jurisdiction,
                currency=currency,
                description="Bulk-inserted by bench/seed.py.",
                metadata=METADATA[asset_type],
                issuer_name="Bench Issuer Ltd",
                created_by=user,
            )
        )
    with transaction.atomic():
        Asset.objects.bulk_create(rows, batch_size=2000)
        for counter in counters.values():
            counter.save(update_fields=["last", "updated_at"])

    ids = list(Asset.objects.values_list("id", flat=True))
    sample = rng.sample(ids, min(args.sample, len(ids)))
    Path(args.ids_file).write_text("".join(f"{pk}\n" for pk in sample))
    counts = {t: Asset.objects.filter(asset_type=t).count() for t in types}
    print(
        f"seeded {len(ids)} assets {counts} in {time.monotonic() - started:.1f}s; {len(sample)} ids -> {args.ids_file}"
    )


if __name__ == "__main__":
    main()
