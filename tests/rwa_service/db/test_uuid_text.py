"""UuidText reads a uuid column as the text str() gives for its UUID, on whichever database runs the suite."""

import uuid

import pytest
from django.db.models import F

from rwa_service.db.lookups import AnyOf
from rwa_service.db.uuid_text import UuidText
from valuation.models import RevaluationRun, RunStatus


@pytest.mark.django_db
def test_a_uuid_key_reads_as_the_text_of_its_uuid():
    ids = [uuid.UUID(int=0), uuid.UUID("ABCDEF01-2345-6789-ABCD-EF0123456789"), uuid.uuid4()]
    for pk in ids:
        RevaluationRun.objects.create(id=pk, as_of="2026-11-28", filters={}, status=RunStatus.RUNNING, started_by="t")
    read = RevaluationRun.objects.annotate(key=UuidText("pk")).filter(AnyOf(F("pk"), ids)).values_list("key", flat=True)
    assert sorted(read) == sorted(str(pk) for pk in ids)
    assert "abcdef01-2345-6789-abcd-ef0123456789" in read
