"""Asset API behaviour: validation, read-only fields, ETag/If-Match, documents, filters and pagination."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assets.models import Asset, Document
from audit.models import AuditEvent
from tests.factories import AssetFactory

BODY = {
    "name": "Dock Warehouse",
    "asset_type": "real_estate",
    "jurisdiction": "GB",
    "currency": "GBP",
    "metadata": {"address": "2 Dock Road", "property_type": "industrial", "area_sqm": 900},
}


@pytest.fixture
def operator(users, client_for):
    return client_for(users["operator"])


def test_create_returns_the_asset_with_location_and_etag(operator):
    response = operator.post("/api/v1/assets/", BODY, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft" and body["version"] == 1 and body["created_by"] == "operator-user"
    assert response["Location"].endswith(f"/api/v1/assets/{body['id']}/")
    assert response["ETag"] == f'"{body["id"]}-1"'


def test_invalid_metadata_is_a_400_naming_the_field(operator):
    body = BODY | {"metadata": {"address": "2 Dock Road", "property_type": "industrial", "area_sqm": -5}}
    response = operator.post("/api/v1/assets/", body, format="json")
    assert response.status_code == 400
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert problem["code"] == "validation_error" and list(problem["errors"]) == ["metadata.area_sqm"]
    assert Asset.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value"), [("status", "approved"), ("reference", "RE-1"), ("created_by", "x"), ("version", 7)]
)
def test_server_owned_fields_cannot_be_set_on_create_or_patch(operator, make_asset, field, value):
    created = operator.post("/api/v1/assets/", BODY | {field: value}, format="json")
    assert created.status_code == 400 and field in created.json()["errors"]
    asset = make_asset("draft")
    patched = operator.patch(f"/api/v1/assets/{asset.pk}/", {field: value}, format="json")
    assert patched.status_code == 400 and field in patched.json()["errors"]
    fresh = Asset.objects.get(pk=asset.pk)
    assert (fresh.status, fresh.reference, fresh.version) == (asset.status, asset.reference, asset.version)


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(operator, make_asset):
    asset = make_asset("draft")
    url = f"/api/v1/assets/{asset.pk}/"
    etag = operator.get(url)["ETag"]
    first = operator.patch(url, {"name": "First"}, format="json", HTTP_IF_MATCH=etag)
    assert first.status_code == 200 and first["ETag"] == f'"{asset.pk}-2"'
    stale = operator.patch(url, {"name": "Second"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["code"] == "stale_version"
    assert Asset.objects.get(pk=asset.pk).name == "First"
    garbage = operator.patch(url, {"name": "Third"}, format="json", HTTP_IF_MATCH='"not-a-tag"')
    assert garbage.status_code == 412


def test_if_none_match_with_the_current_etag_is_304(operator, make_asset):
    asset = make_asset("draft")
    url = f"/api/v1/assets/{asset.pk}/"
    etag = operator.get(url)["ETag"]
    assert operator.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    operator.patch(url, {"name": "Changed"}, format="json")
    assert operator.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_lifecycle_actions_honour_if_match(users, client_for, make_asset):
    asset = make_asset("draft")
    client = client_for(users["operator"])
    stale = client.post(f"/api/v1/assets/{asset.pk}/submit/", {}, format="json", HTTP_IF_MATCH=f'"{asset.pk}-99"')
    assert stale.status_code == 412 and Asset.objects.get(pk=asset.pk).status == "draft"


def test_approval_by_the_submitter_is_refused_over_the_api(users, client_for):
    both = users["operator"]
    both.groups.add(*users["compliance"].groups.all())
    client = client_for(both)
    asset_id = client.post("/api/v1/assets/", BODY, format="json").json()["id"]
    assert client.post(f"/api/v1/assets/{asset_id}/submit/", {}, format="json").status_code == 200
    refused = client.post(f"/api/v1/assets/{asset_id}/approve/", {}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "maker_checker"
    assert Asset.objects.get(pk=asset_id).status == "under_review"


def test_reject_without_reason_is_400_naming_reason(users, client_for, make_asset):
    asset = make_asset("under_review")
    response = client_for(users["compliance"]).post(f"/api/v1/assets/{asset.pk}/reject/", {}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]


def test_multipart_upload_is_hashed_and_listed(operator, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    content = b"%PDF-1.4\nhello"
    upload = SimpleUploadedFile("deed.pdf", content, content_type="application/pdf")
    response = operator.post(
        f"/api/v1/assets/{asset.pk}/documents/", {"name": "Deed", "kind": "title_deed", "file": upload}
    )
    assert response.status_code == 201
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()
    assert response.json()["size"] == len(content)
    listed = operator.get(f"/api/v1/assets/{asset.pk}/documents/").json()
    assert [row["name"] for row in listed] == ["Deed"]


def test_json_reference_document_keeps_the_given_hash(operator, make_asset):
    asset = make_asset("draft")
    body = {"name": "Prospectus", "kind": "prospectus", "uri": "https://docs.example/p.pdf", "sha256": "A" * 64}
    response = operator.post(f"/api/v1/assets/{asset.pk}/documents/", body, format="json")
    assert response.status_code == 201 and response.json()["sha256"] == "a" * 64


def test_oversized_upload_is_413_and_nothing_is_stored(operator, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT, settings.DOCUMENT_MAX_BYTES = tmp_path, 1024
    asset = make_asset("draft")
    upload = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 5000, content_type="application/pdf")
    response = operator.post(f"/api/v1/assets/{asset.pk}/documents/", {"name": "Big", "kind": "other", "file": upload})
    assert response.status_code == 413 and response.json()["code"] == "file_too_large"
    assert Document.objects.count() == 0 and not any(tmp_path.rglob("*"))


def test_body_far_over_the_limit_is_refused_before_it_is_parsed(operator, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT, settings.DOCUMENT_MAX_BYTES = tmp_path, 10
    asset = make_asset("draft")
    upload = SimpleUploadedFile("big.pdf", b"%PDF-" + b"x" * 200_000, content_type="application/pdf")
    response = operator.post(f"/api/v1/assets/{asset.pk}/documents/", {"name": "Big", "kind": "other", "file": upload})
    assert response.status_code == 413
    assert Document.objects.count() == 0


def test_disallowed_upload_type_is_415_and_nothing_is_stored(operator, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    upload = SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/x-msdownload")
    response = operator.post(f"/api/v1/assets/{asset.pk}/documents/", {"name": "Exe", "kind": "other", "file": upload})
    assert response.status_code == 415 and response["Content-Type"] == "application/problem+json"
    assert Document.objects.count() == 0 and not any(tmp_path.rglob("*"))


def test_removed_document_is_gone_from_the_list_but_kept_in_the_table(operator, make_asset):
    asset = make_asset("draft")
    body = {"name": "Old", "kind": "other", "uri": "s3://old", "sha256": "f" * 64}
    doc_id = operator.post(f"/api/v1/assets/{asset.pk}/documents/", body, format="json").json()["id"]
    response = operator.delete(
        f"/api/v1/assets/{asset.pk}/documents/{doc_id}/", {"reason": "Superseded"}, format="json"
    )
    assert response.status_code == 204
    assert operator.get(f"/api/v1/assets/{asset.pk}/documents/").json() == []
    assert operator.get(f"/api/v1/assets/{asset.pk}/documents/{doc_id}/").status_code == 404
    assert Document.objects.get(pk=doc_id).removal_reason == "Superseded"


def test_filters_search_and_ordering(users, client_for):
    owner = users["operator"]
    AssetFactory(name="Gold Vault", asset_type="commodity", jurisdiction="CH", currency="USD", created_by=owner)
    AssetFactory(name="Berlin Flats", asset_type="real_estate", jurisdiction="DE", currency="EUR", created_by=owner)
    AssetFactory(name="Athens Hotel", asset_type="real_estate", jurisdiction="GR", currency="EUR", status="approved",
                 created_by=owner)  # fmt: skip
    client = client_for(users["auditor"])

    def names(query):
        return [row["name"] for row in client.get(f"/api/v1/assets/?{query}").json()["results"]]

    assert sorted(names("asset_type=real_estate")) == ["Athens Hotel", "Berlin Flats"]
    assert names("status=approved") == ["Athens Hotel"]
    assert names("jurisdiction=ch") == ["Gold Vault"]
    assert sorted(names("currency=EUR")) == ["Athens Hotel", "Berlin Flats"]
    assert names("search=vault") == ["Gold Vault"]
    assert names("ordering=name") == ["Athens Hotel", "Berlin Flats", "Gold Vault"]
    assert names("ordering=-name") == ["Gold Vault", "Berlin Flats", "Athens Hotel"]
    bad = client.get("/api/v1/assets/?asset_type=spaceship")
    assert bad.status_code == 400 and "asset_type" in bad.json()["errors"]


def test_cursor_pagination_walks_every_asset_once_and_caps_page_size(users, client_for):
    AssetFactory.create_batch(130, created_by=users["operator"])
    client = client_for(users["valuer"])
    first = client.get("/api/v1/assets/?page_size=500").json()
    assert len(first["results"]) == 100
    seen, url = [], "/api/v1/assets/?page_size=40"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == 130 and len(set(seen)) == 130


def test_history_lists_the_asset_events_in_order_with_request_ids(users, client_for):
    operator = client_for(users["operator"])
    asset_id = operator.post("/api/v1/assets/", BODY, format="json", HTTP_X_REQUEST_ID="create-1").json()["id"]
    operator.post(f"/api/v1/assets/{asset_id}/submit/", {}, format="json", HTTP_X_REQUEST_ID="submit-1")
    history = client_for(users["auditor"]).get(f"/api/v1/assets/{asset_id}/history/").json()
    assert [(e["action"], e["request_id"]) for e in history] == [
        ("asset.created", "create-1"),
        ("asset.submitted", "submit-1"),
    ]
    assert history[1]["prev_hash"] == history[0]["hash"] or history[1]["seq"] > history[0]["seq"]
    assert AuditEvent.objects.get(seq=history[1]["seq"]).hash == history[1]["hash"]


def test_delete_draft_over_the_api_removes_it_and_records_the_event(operator, make_asset):
    asset = make_asset("draft")
    assert operator.delete(f"/api/v1/assets/{asset.pk}/").status_code == 204
    assert not Asset.objects.filter(pk=asset.pk).exists()
    assert AuditEvent.objects.filter(action="asset.deleted", object_id=str(asset.pk)).count() == 1
