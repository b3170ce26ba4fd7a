"""uuid7: version 7 and the RFC variant, ordered by time across milliseconds, unique, and what valuations use."""

import time
import uuid

from rwa_service.db.ids import uuid7, uuid7_texts
from valuation.models import Valuation


def test_version_variant_and_time_prefix():
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000
    assert made.version == 7 and made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after


def test_ids_of_later_milliseconds_sort_after_and_none_repeat():
    first = [uuid7() for _ in range(5000)]
    time.sleep(0.002)
    second = [uuid7() for _ in range(5000)]
    assert max(first) < min(second)
    assert len(set(first + second)) == 10000


def test_new_valuations_get_time_ordered_ids():
    assert Valuation._meta.pk.default is uuid7


def test_ids_made_in_bulk_are_the_text_of_version_7_uuids_of_now_and_none_repeat():
    before = time.time_ns() // 1_000_000
    texts = uuid7_texts(5000)
    after = time.time_ns() // 1_000_000
    parsed = [uuid.UUID(text) for text in texts]
    assert [str(made) for made in parsed] == texts and len(set(texts)) == 5000
    assert all(made.version == 7 and made.variant == uuid.RFC_4122 for made in parsed)
    assert all(before <= made.int >> 80 <= after for made in parsed)
    assert uuid7_texts(0) == [] and max(parsed) < uuid7()
