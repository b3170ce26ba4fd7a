"""Asset API behaviour: validation, read-only fields, ETag/If-Match, documents, filters and pagination."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from assets.models import Asset, Document
from audit.canonical import GENESIS_HASH
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
    assert [row["name"] for row in listed["results"]] == ["Deed"]


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
    assert operator.get(f"/api/v1/assets/{asset.pk}/documents/").json()["results"] == []
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
    history = client_for(users["auditor"]).get(f"/api/v1/assets/{asset_id}/history/").json()["results"]
    assert [(e["action"], e["request_id"]) for e in history] == [
        ("asset.created", "create-1"),
        ("asset.submitted", "submit-1"),
    ]
    assert history[0]["seq"] < history[1]["seq"]
    for shown in history:  # each event as stored, linked to the event just before it in the whole chain
        stored = AuditEvent.objects.get(seq=shown["seq"])
        assert (shown["hash"], shown["prev_hash"]) == (stored.hash, stored.prev_hash)
        previous = AuditEvent.objects.filter(seq=shown["seq"] - 1).first()
        assert shown["prev_hash"] == (previous.hash if previous else GENESIS_HASH)


def test_delete_draft_over_the_api_removes_it_and_records_the_event(operator, make_asset):
    asset = make_asset("draft")
    assert operator.delete(f"/api/v1/assets/{asset.pk}/").status_code == 204
    assert not Asset.objects.filter(pk=asset.pk).exists()
    assert AuditEvent.objects.filter(action="asset.deleted", object_id=str(asset.pk)).count() == 1


def _upload(client, asset, content=b"%PDF-1.4\nhello", name="Deed", content_type="application/pdf"):
    upload = SimpleUploadedFile("file.bin", content, content_type=content_type)
    response = client.post(f"/api/v1/assets/{asset.pk}/documents/", {"name": name, "kind": "other", "file": upload})
    assert response.status_code == 201, response.content
    return response.json()


def test_download_streams_the_stored_file_as_an_attachment(operator, users, client_for, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    content = b"%PDF-1.4\n" + bytes(range(256)) * 10
    document = _upload(operator, asset, content=content, name="Title deed")
    assert document["uri"] == f"/api/v1/assets/{asset.pk}/documents/{document['id']}/download/"

    response = client_for(users["auditor"]).get(document["uri"])

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Title deed.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_download_keeps_the_stored_content_type_for_text(operator, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    document = _upload(operator, asset, content=b"a,b\n1,2\n", name="rows.csv", content_type="text/csv")
    response = operator.get(document["uri"])
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="rows.csv"'


def test_download_of_a_reference_or_a_removed_document_is_404(operator, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    body = {"name": "Ref", "kind": "other", "uri": "https://docs.example/r.pdf", "sha256": "e" * 64}
    reference = operator.post(f"/api/v1/assets/{asset.pk}/documents/", body, format="json").json()
    stored = _upload(operator, asset)
    assert operator.delete(f"/api/v1/assets/{asset.pk}/documents/{stored['id']}/").status_code == 204

    for document in (reference, stored):
        response = operator.get(f"/api/v1/assets/{asset.pk}/documents/{document['id']}/download/")
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_download_through_another_asset_is_404(operator, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    asset, other = make_asset("draft"), make_asset("draft")
    document = _upload(operator, asset)
    assert operator.get(f"/api/v1/assets/{other.pk}/documents/{document['id']}/download/").status_code == 404


@pytest.mark.parametrize("state", ["under_review", "approved"])
def test_documents_of_a_non_draft_asset_are_closed_409(operator, make_asset, state):
    asset = make_asset("draft")
    body = {"name": "Ref", "kind": "other", "uri": "s3://b/r", "sha256": "e" * 64}
    doc_id = operator.post(f"/api/v1/assets/{asset.pk}/documents/", body, format="json").json()["id"]
    Asset.objects.filter(pk=asset.pk).update(status=state)

    added = operator.post(f"/api/v1/assets/{asset.pk}/documents/", body, format="json")
    removed = operator.delete(f"/api/v1/assets/{asset.pk}/documents/{doc_id}/")

    for response in (added, removed):
        assert response.status_code == 409 and response.json()["code"] == "documents_closed"
    assert Document.objects.filter(asset=asset).count() == 1
    assert Document.objects.get(pk=doc_id).removed_at is None


def test_a_reference_with_another_scheme_is_400_naming_uri(operator, make_asset):
    asset = make_asset("draft")
    body = {"name": "Ref", "kind": "other", "uri": "http://docs.example/r.pdf", "sha256": "e" * 64}
    response = operator.post(f"/api/v1/assets/{asset.pk}/documents/", body, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["uri"]


def test_documents_are_cursor_paginated_newest_first(operator, make_asset):
    asset = make_asset("draft")
    for n in range(5):
        body = {"name": f"Doc {n}", "kind": "other", "uri": f"s3://b/{n}", "sha256": f"{n}" * 64}
        assert operator.post(f"/api/v1/assets/{asset.pk}/documents/", body, format="json").status_code == 201
    names, url = [], f"/api/v1/assets/{asset.pk}/documents/?page_size=2"
    while url:
        page = operator.get(url).json()
        assert set(page) == {"next", "previous", "results"} and len(page["results"]) <= 2
        names += [row["name"] for row in page["results"]]
        url = page["next"]
    assert names == [f"Doc {n}" for n in reversed(range(5))]


def test_history_is_cursor_paginated_by_seq_with_pages_of_at_most_100(users, client_for, make_asset):
    asset = make_asset("draft")
    operator = client_for(users["operator"])
    for n in range(104):
        operator.patch(f"/api/v1/assets/{asset.pk}/", {"name": f"Name {n}"}, format="json")
    auditor = client_for(users["auditor"])
    first = auditor.get(f"/api/v1/assets/{asset.pk}/history/?page_size=500").json()
    assert len(first["results"]) == 100 and first["next"] and first["previous"] is None
    second = auditor.get(first["next"]).json()
    seqs = [event["seq"] for event in first["results"] + second["results"]]
    assert len(seqs) == 105 and seqs == sorted(seqs)
    assert second["next"] is None


def test_listing_assets_takes_a_fixed_number_of_queries(users, client_for, make_asset, django_assert_max_num_queries):
    for _ in range(6):
        make_asset("approved")
    client = client_for(users["auditor"])
    # roles, the page's rows, their representations with the users joined, their current valuations: none per row
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/assets/")
    rows = response.json()["results"]
    assert len(rows) == 6
    assert {(row["submitted_by"], row["reviewed_by"]) for row in rows} == {("operator-user", "compliance-user")}
    with django_assert_max_num_queries(2):  # again: roles and the rows; every representation is cached
        assert client.get("/api/v1/assets/").json()["results"] == rows


def test_an_empty_patch_changes_nothing_and_records_nothing(operator, make_asset):
    asset = make_asset("draft")
    url = f"/api/v1/assets/{asset.pk}/"
    events = AuditEvent.objects.count()
    for body in ({}, {"name": asset.name}):
        response = operator.patch(url, body, format="json")
        assert response.status_code == 200
        assert response.json()["version"] == asset.version and response["ETag"] == f'"{asset.pk}-{asset.version}"'
    assert AuditEvent.objects.count() == events


def test_type_and_status_filters_do_not_ask_for_distinct_rows(users, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    AssetFactory(asset_type="real_estate", created_by=users["operator"])
    with CaptureQueriesContext(connection) as queries:
        response = client_for(users["auditor"]).get("/api/v1/assets/?asset_type=real_estate&status=draft")
    assert response.status_code == 200 and len(response.json()["results"]) == 1
    listing = [q["sql"] for q in queries.captured_queries if "assets_asset" in q["sql"]]
    assert listing and not any("DISTINCT" in sql for sql in listing)
