"""Asset services: lifecycle rules, maker-checker, validation, versions, and one audit event per change."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from assets import services
from assets.models import Asset, AssetStatus, Document
from audit.models import AuditEvent
from rwa_service.exceptions import (
    IllegalTransition,
    NotFound,
    PayloadTooLarge,
    PermissionRefused,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)
from tests.factories import REAL_ESTATE_METADATA


def _create(actor, **overrides):
    values = {
        "name": "Harbour Office",
        "asset_type": "real_estate",
        "jurisdiction": "gb",
        "currency": "gbp",
        "metadata": dict(REAL_ESTATE_METADATA),
    } | overrides
    return services.asset_create(actor=actor, **values)


def test_create_makes_a_draft_with_a_typed_reference_and_normalised_codes(users):
    asset = _create(users["operator"])
    assert asset.status == AssetStatus.DRAFT
    assert asset.reference.startswith("RE-") and asset.reference.endswith("-000001")
    assert (asset.jurisdiction, asset.currency, asset.version) == ("GB", "GBP", 1)
    second = _create(users["operator"], asset_type="commodity", metadata={
        "commodity": "gold", "quantity": "10", "unit": "kg", "vault": "Zurich"})  # fmt: skip
    assert second.reference.startswith("CM-") and second.reference.endswith("-000001")


def test_create_refuses_invalid_metadata_naming_the_field(users):
    with pytest.raises(ValidationFailed) as caught:
        _create(users["operator"], metadata={"address": "1 A St", "property_type": "castle"})
    assert set(caught.value.errors) == {"metadata.property_type", "metadata.area_sqm"}
    assert Asset.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"), [("jurisdiction", "XX"), ("currency", "ABC"), ("asset_type", "spaceship"), ("name", " ")]
)
def test_create_refuses_bad_codes_and_names(users, field, value):
    with pytest.raises(ValidationFailed) as caught:
        _create(users["operator"], **{field: value})
    assert field in caught.value.errors


def test_only_operators_create(users):
    for role in ["compliance", "valuer", "auditor", "investor"]:
        with pytest.raises(PermissionRefused):
            _create(users[role])


def test_full_lifecycle_records_who_when_and_why(users):
    operator, compliance = users["operator"], users["compliance"]
    asset = _create(operator)
    asset = services.asset_transition(actor=operator, asset_id=asset.pk, transition="submit")
    assert (asset.status, asset.submitted_by, asset.version) == ("under_review", operator, 2)
    asset = services.asset_transition(actor=compliance, asset_id=asset.pk, transition="approve")
    assert (asset.status, asset.reviewed_by) == ("approved", compliance)
    asset = services.asset_transition(actor=compliance, asset_id=asset.pk, transition="suspend", reason="Audit")
    assert (asset.status, asset.suspended_from, asset.status_reason) == ("suspended", "approved", "Audit")
    asset = services.asset_transition(actor=compliance, asset_id=asset.pk, transition="reinstate")
    assert (asset.status, asset.suspended_from) == ("approved", "")
    asset = services.asset_transition(actor=compliance, asset_id=asset.pk, transition="retire", reason="Sold")
    assert asset.status == "retired"
    actions = list(AuditEvent.objects.filter(object_id=str(asset.pk)).values_list("action", "actor", "reason"))
    assert actions == [
        ("asset.created", operator.username, ""),
        ("asset.submitted", operator.username, ""),
        ("asset.approved", compliance.username, ""),
        ("asset.suspended", compliance.username, "Audit"),
        ("asset.reinstated", compliance.username, ""),
        ("asset.retired", compliance.username, "Sold"),
    ]


def test_reject_returns_to_draft_with_the_reason(users, make_asset):
    asset = make_asset("under_review")
    asset = services.asset_transition(
        actor=users["compliance"], asset_id=asset.pk, transition="reject", reason="No deed"
    )
    assert (asset.status, asset.status_reason) == ("draft", "No deed")


@pytest.mark.parametrize("transition", ["reject", "suspend", "retire"])
def test_transitions_that_need_a_reason_refuse_without_one(users, make_asset, transition):
    asset = make_asset("under_review" if transition == "reject" else "approved")
    with pytest.raises(ValidationFailed) as caught:
        services.asset_transition(actor=users["compliance"], asset_id=asset.pk, transition=transition, reason="  ")
    assert "reason" in caught.value.errors
    assert Asset.objects.get(pk=asset.pk).status == asset.status


@pytest.mark.parametrize(
    ("state", "transition"),
    [
        ("draft", "approve"),
        ("draft", "reject"),
        ("draft", "suspend"),
        ("draft", "reinstate"),
        ("under_review", "submit"),
        ("approved", "submit"),
        ("approved", "approve"),
        ("approved", "reinstate"),
        ("suspended", "suspend"),
        ("retired", "retire"),
        ("retired", "submit"),
    ],
)
def test_illegal_transitions_are_conflicts_and_change_nothing(users, make_asset, state, transition):
    asset = make_asset(state)
    actor = users["operator"] if transition == "submit" else users["compliance"]
    events_before = AuditEvent.objects.count()
    with pytest.raises(IllegalTransition) as caught:
        services.asset_transition(actor=actor, asset_id=asset.pk, transition=transition, reason="r")
    assert caught.value.status_code == 409 and caught.value.code == "illegal_transition"
    fresh = Asset.objects.get(pk=asset.pk)
    assert (fresh.status, fresh.version) == (asset.status, asset.version)
    assert AuditEvent.objects.count() == events_before


def test_the_submitter_cannot_approve_or_reject_their_own_submission(users):
    both = users["operator"]
    both.groups.add(*users["compliance"].groups.all())
    both._rwa_roles = None
    asset = _create(both)
    services.asset_transition(actor=both, asset_id=asset.pk, transition="submit")
    for transition in ["approve", "reject"]:
        with pytest.raises(PermissionRefused) as caught:
            services.asset_transition(actor=both, asset_id=asset.pk, transition=transition, reason="mine")
        assert caught.value.code == "maker_checker"
    assert Asset.objects.get(pk=asset.pk).status == "under_review"
    approved = services.asset_transition(actor=users["compliance"], asset_id=asset.pk, transition="approve")
    assert approved.status == "approved"


def test_only_drafts_are_editable_and_each_edit_bumps_the_version(users, make_asset):
    asset = make_asset("draft")
    edited = services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"name": "New name"})
    assert (edited.name, edited.version) == ("New name", asset.version + 1)
    submitted = services.asset_transition(actor=users["operator"], asset_id=asset.pk, transition="submit")
    with pytest.raises(IllegalTransition):
        services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"name": "Late"})
    assert Asset.objects.get(pk=asset.pk).name == "New name" and submitted.status == "under_review"


@pytest.mark.parametrize("field", ["status", "reference", "created_by", "version"])
def test_server_owned_fields_cannot_be_changed(users, make_asset, field):
    asset = make_asset("draft")
    with pytest.raises(ValidationFailed) as caught:
        services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={field: "x"})
    assert field in caught.value.errors


def test_stale_expected_version_is_a_precondition_failure(users, make_asset):
    asset = make_asset("draft")
    services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"name": "v2"}, expected_version=1)
    with pytest.raises(PreconditionFailed):
        services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"name": "v3"}, expected_version=1)
    assert Asset.objects.get(pk=asset.pk).name == "v2"


def test_changing_the_type_revalidates_metadata_against_the_new_schema(users, make_asset):
    asset = make_asset("draft")
    with pytest.raises(ValidationFailed) as caught:
        services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"asset_type": "fixed_income"})
    assert "metadata.principal" in caught.value.errors


def test_only_drafts_can_be_deleted(users, make_asset):
    approved = make_asset("approved")
    with pytest.raises(IllegalTransition):
        services.asset_delete(actor=users["operator"], asset_id=approved.pk)
    draft = make_asset("draft")
    services.asset_delete(actor=users["operator"], asset_id=draft.pk)
    assert not Asset.objects.filter(pk=draft.pk).exists()
    event = AuditEvent.objects.last()
    assert (event.action, event.before["id"], event.after) == ("asset.deleted", str(draft.pk), None)


def test_upload_is_hashed_server_side(users, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    content = b"%PDF-1.7\n" + b"x" * 1000
    upload = SimpleUploadedFile("deed.pdf", content, content_type="application/pdf")
    document = services.document_add(
        actor=users["operator"], asset_id=asset.pk, name="Deed", kind="title_deed", upload=upload
    )
    import hashlib

    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert (document.size, document.content_type) == (len(content), "application/pdf")
    assert (tmp_path / "documents" / str(asset.pk) / document.sha256).read_bytes() == content


def test_oversized_upload_is_refused_and_nothing_is_stored(users, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT, settings.DOCUMENT_MAX_BYTES = tmp_path, 100
    asset = make_asset("draft")
    upload = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 200, content_type="application/pdf")
    with pytest.raises(PayloadTooLarge):
        services.document_add(actor=users["operator"], asset_id=asset.pk, name="Big", kind="other", upload=upload)
    assert Document.objects.count() == 0 and not any(tmp_path.rglob("*"))


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/x-msdownload", b"MZ\x90\x00"),
        ("application/pdf", b"MZ not a pdf"),
        ("text/plain", b"\xff\xfe\x00"),
    ],
)
def test_disallowed_or_mislabelled_upload_is_refused_and_nothing_is_stored(
    users, make_asset, settings, tmp_path, content_type, content
):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    upload = SimpleUploadedFile("file.bin", content, content_type=content_type)
    with pytest.raises(UnsupportedMediaType):
        services.document_add(actor=users["operator"], asset_id=asset.pk, name="Bad", kind="other", upload=upload)
    assert Document.objects.count() == 0 and not any(tmp_path.rglob("*"))


def test_referenced_document_needs_a_valid_sha256(users, make_asset):
    asset = make_asset("draft")
    with pytest.raises(ValidationFailed) as caught:
        services.document_add(
            actor=users["operator"], asset_id=asset.pk, name="Ref", kind="other", uri="s3://x", sha256="abc"
        )
    assert "sha256" in caught.value.errors


def test_document_removal_is_recorded_not_erased(users, make_asset):
    asset = make_asset("draft")
    document = services.document_add(
        actor=users["operator"], asset_id=asset.pk, name="Ref", kind="other", uri="s3://x", sha256="b" * 64
    )
    services.document_remove(actor=users["operator"], asset_id=asset.pk, document_id=document.pk, reason="Superseded")
    document.refresh_from_db()
    assert document.removed_at is not None and document.removed_by == users["operator"]
    assert document.removal_reason == "Superseded"
    event = AuditEvent.objects.last()
    assert (event.action, event.reason, event.after["id"]) == ("document.removed", "Superseded", str(document.pk))


def _add_reference(users, asset, digest="c"):
    return services.document_add(
        actor=users["operator"], asset_id=asset.pk, name="d", kind="other", uri="s3://d", sha256=digest * 64
    )


def _move(role, transition, reason=""):
    def call(users, asset, prepared):
        return services.asset_transition(actor=users[role], asset_id=asset.pk, transition=transition, reason=reason)

    return call


def _update(users, asset, prepared):
    return services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"name": "n"})


def _delete(users, asset, prepared):
    return services.asset_delete(actor=users["operator"], asset_id=asset.pk)


def _remove(users, asset, document):
    return services.document_remove(actor=users["operator"], asset_id=asset.pk, document_id=document.pk)


# service → (state of the asset it starts from, prepare(users, asset) run before counting, call(users, asset, prep))
SERVICE_CALLS = {
    "create": (None, None, lambda users, asset, prepared: _create(users["operator"])),
    "update": ("draft", None, _update),
    "delete": ("draft", None, _delete),
    "submit": ("draft", None, _move("operator", "submit")),
    "approve": ("under_review", None, _move("compliance", "approve")),
    "reject": ("under_review", None, _move("compliance", "reject", "r")),
    "suspend": ("approved", None, _move("compliance", "suspend", "r")),
    "reinstate": ("suspended", None, _move("compliance", "reinstate")),
    "retire": ("approved", None, _move("compliance", "retire", "r")),
    "document_add": ("draft", None, lambda users, asset, prepared: _add_reference(users, asset)),
    "document_remove": ("draft", _add_reference, _remove),
}


def _prepare(name, users, make_asset):
    state, prepare, call = SERVICE_CALLS[name]
    asset = make_asset(state) if state else None
    prepared = prepare(users, asset) if prepare else None
    return lambda: call(users, asset, prepared)


@pytest.mark.parametrize("name", list(SERVICE_CALLS))
def test_every_asset_service_writes_exactly_one_audit_event(users, make_asset, name):
    run = _prepare(name, users, make_asset)
    before = AuditEvent.objects.count()
    run()
    assert AuditEvent.objects.count() == before + 1


@pytest.mark.parametrize("name", list(SERVICE_CALLS))
def test_a_rolled_back_service_leaves_no_audit_event_and_no_change(users, make_asset, name):
    run = _prepare(name, users, make_asset)
    assets_before = {a.pk: (a.status, a.version) for a in Asset.objects.all()}
    documents_before = list(Document.objects.values_list("pk", "removed_at"))
    events_before = AuditEvent.objects.count()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        run()
        raise Abort
    assert AuditEvent.objects.count() == events_before
    assert {a.pk: (a.status, a.version) for a in Asset.objects.all()} == assets_before
    assert list(Document.objects.values_list("pk", "removed_at")) == documents_before


def test_a_failing_audit_write_rolls_the_change_back(users, make_asset, monkeypatch):
    asset = make_asset("draft")
    import assets.services as module

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(module, "audit_event_record", broken)
    with pytest.raises(RuntimeError):
        services.asset_transition(actor=users["operator"], asset_id=asset.pk, transition="submit")
    fresh = Asset.objects.get(pk=asset.pk)
    assert (fresh.status, fresh.version) == ("draft", asset.version)


def _upload_pdf(users, asset, content=b"%PDF-1.7\nscan", name="Scan"):
    upload = SimpleUploadedFile("scan.pdf", content, content_type="application/pdf")
    return services.document_add(actor=users["operator"], asset_id=asset.pk, name=name, kind="other", upload=upload)


def test_an_empty_update_keeps_the_version_and_records_nothing(users, make_asset):
    asset = make_asset("draft")
    events = AuditEvent.objects.count()
    for changes in ({}, {"name": asset.name, "currency": "gbp"}):  # nothing, or the values it already has
        unchanged = services.asset_update(actor=users["operator"], asset_id=asset.pk, changes=changes)
        assert unchanged.version == asset.version
    assert Asset.objects.get(pk=asset.pk).version == asset.version
    assert AuditEvent.objects.count() == events


def test_an_empty_update_still_honours_the_expected_version_and_the_state(users, make_asset):
    asset = make_asset("draft")
    with pytest.raises(PreconditionFailed):
        services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={}, expected_version=9)
    submitted = make_asset("under_review")
    with pytest.raises(IllegalTransition):
        services.asset_update(actor=users["operator"], asset_id=submitted.pk, changes={})


@pytest.mark.parametrize("state", ["under_review", "approved", "suspended", "retired"])
def test_documents_can_be_added_only_to_drafts(users, make_asset, settings, tmp_path, state):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset(state)
    with pytest.raises(IllegalTransition) as caught:
        _add_reference(users, asset)
    assert caught.value.code == "documents_closed" and caught.value.status_code == 409
    with pytest.raises(IllegalTransition):
        _upload_pdf(users, asset)
    assert not Document.objects.filter(asset=asset).exists() and not any(tmp_path.rglob("*"))


def test_documents_can_be_removed_only_from_drafts(users, make_asset):
    asset = make_asset("draft")
    document = _add_reference(users, asset)
    services.asset_transition(actor=users["operator"], asset_id=asset.pk, transition="submit")
    with pytest.raises(IllegalTransition) as caught:
        services.document_remove(actor=users["operator"], asset_id=asset.pk, document_id=document.pk)
    assert caught.value.code == "documents_closed"
    assert Document.objects.get(pk=document.pk).removed_at is None


@pytest.mark.parametrize("uri", ["https://docs.example/p.pdf", "s3://bucket/deed.pdf", "ipfs://bafybeigdyrzt/deed"])
def test_referenced_documents_accept_https_s3_and_ipfs_uris(users, make_asset, uri):
    asset = make_asset("draft")
    document = services.document_add(
        actor=users["operator"], asset_id=asset.pk, name="Ref", kind="other", uri=uri, sha256="d" * 64
    )
    assert document.uri == uri


@pytest.mark.parametrize(
    "uri", ["http://docs.example/p.pdf", "file:///etc/passwd", "javascript:alert(1)", "/media/x", "ftp://h/x"]
)
def test_referenced_documents_refuse_other_uris_naming_the_field(users, make_asset, uri):
    asset = make_asset("draft")
    with pytest.raises(ValidationFailed) as caught:
        services.document_add(actor=users["operator"], asset_id=asset.pk, name="Ref", kind="other", uri=uri,
                              sha256="d" * 64)  # fmt: skip
    assert list(caught.value.errors) == ["uri"]
    assert not Document.objects.exists()


def test_an_uploaded_documents_uri_is_its_download_path_whatever_the_client_sent(users, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    upload = SimpleUploadedFile("scan.pdf", b"%PDF-1.7\nscan", content_type="application/pdf")
    document = services.document_add(
        actor=users["operator"], asset_id=asset.pk, name="Scan", kind="other", upload=upload, uri="javascript:x"
    )
    expected = f"/api/v1/assets/{asset.pk}/documents/{document.pk}/download/"
    assert Document.objects.get(pk=document.pk).uri == expected
    assert AuditEvent.objects.last().after["uri"] == expected


def test_text_is_decoded_across_chunk_boundaries(users, make_asset, settings, tmp_path):
    from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile

    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    chunk = UploadedFile.DEFAULT_CHUNK_SIZE  # 64 KiB, as Django hands uploads over
    euro = "€".encode()  # three bytes, the first before the boundary and two after it
    content = b"a" * (chunk - 1) + euro + "naïve text\n".encode() * 100
    upload = TemporaryUploadedFile("notes.txt", "text/plain", len(content), "utf-8")
    upload.write(content)
    upload.seek(0)
    assert len(content) > chunk and content[chunk - 1 : chunk + 2] == euro

    try:
        document = services.document_add(actor=users["operator"], asset_id=asset.pk, name="Notes", kind="other",
                                          upload=upload)  # fmt: skip
    finally:
        upload.close()  # storing moved the temporary file into place; closing tolerates that

    assert (document.size, document.content_type) == (len(content), "text/plain")
    assert (tmp_path / "documents" / str(asset.pk) / document.sha256).read_bytes() == content


def test_text_ending_in_half_a_character_is_refused(users, make_asset, settings, tmp_path):
    from django.core.files.uploadedfile import TemporaryUploadedFile

    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    content = b"a" * 70_000 + "€".encode()[:2]
    upload = TemporaryUploadedFile("notes.txt", "text/plain", len(content), "utf-8")
    upload.write(content)
    upload.seek(0)
    with upload, pytest.raises(UnsupportedMediaType):
        services.document_add(actor=users["operator"], asset_id=asset.pk, name="Notes", kind="other", upload=upload)
    assert not Document.objects.exists() and not any(tmp_path.rglob("*"))


def test_a_failed_upload_leaves_neither_a_document_nor_a_file(users, make_asset, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("assets.services.audit_event_record", broken)
    with pytest.raises(RuntimeError):
        _upload_pdf(users, asset)
    assert not Document.objects.exists()
    assert [path for path in tmp_path.rglob("*") if path.is_file()] == []
    assert Asset.objects.get(pk=asset.pk).version == asset.version


def test_a_failed_upload_keeps_the_file_another_document_stores(users, make_asset, settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    first = _upload_pdf(users, asset)
    monkeypatch.setattr("assets.services.audit_event_record", lambda **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        _upload_pdf(users, asset, name="Same bytes again")
    assert list(Document.objects.values_list("pk", flat=True)) == [first.pk]
    assert (tmp_path / first.file.name).read_bytes() == b"%PDF-1.7\nscan"


def test_the_same_bytes_uploaded_twice_are_stored_once(users, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    first, second = _upload_pdf(users, asset), _upload_pdf(users, asset, name="Copy")
    assert first.file.name == second.file.name == f"documents/{asset.pk}/{first.sha256}"
    assert [path.name for path in tmp_path.rglob("*") if path.is_file()] == [first.sha256]


@pytest.mark.django_db
@pytest.mark.parametrize("asset_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_asset_or_document_id_that_names_nothing_is_not_found_malformed_or_not(users, make_asset, asset_id):
    asset = make_asset()
    with pytest.raises(NotFound, match="No such asset"):
        services.asset_delete(actor=users["operator"], asset_id=asset_id)
    with pytest.raises(NotFound, match="No such document"):
        services.document_remove(actor=users["operator"], asset_id=asset.pk, document_id=asset_id)
    assert Asset.objects.filter(pk=asset.pk).exists()
