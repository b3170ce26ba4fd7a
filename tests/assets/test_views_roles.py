"""The SPEC §3 role matrix over every asset endpoint and action: each role gets exactly its answer."""

import pytest

from assets import services
from assets.models import Asset, AssetStatus

ALL = ["anonymous", "norole", "admin", "operator", "compliance", "valuer", "auditor", "investor"]
STAFF = {"admin", "operator", "compliance", "valuer", "auditor"}


def _expect(allowed: set[str], ok: int, *, investor_hidden: bool = False) -> dict[str, int]:
    """Anonymous 401; allowed roles `ok`; an investor asking for what is not theirs 404; everyone else 403."""
    answers = {}
    for role in ALL:
        if role == "anonymous":
            answers[role] = 401
        elif role in allowed:
            answers[role] = ok
        elif role == "investor" and investor_hidden:
            answers[role] = 404
        else:
            answers[role] = 403
    return answers


def _pdf() -> bytes:
    return b"%PDF-1.4\n" + b"0" * 64


# endpoint name → (asset state, method, path suffix, body, expected answers)
MATRIX = {
    "list": ("draft", "get", "", None, _expect(STAFF | {"investor"}, 200)),
    "retrieve draft": ("draft", "get", "{id}/", None, _expect(STAFF, 200, investor_hidden=True)),
    "retrieve tokenized": ("tokenized", "get", "{id}/", None, _expect(STAFF | {"investor"}, 200)),
    "create": ("draft", "post", "", "create", _expect({"admin", "operator"}, 201)),
    "patch draft": ("draft", "patch", "{id}/", {"name": "Renamed"}, _expect({"admin", "operator"}, 200)),
    "delete draft": ("draft", "delete", "{id}/", None, _expect({"admin", "operator"}, 204)),
    "submit": ("draft", "post", "{id}/submit/", {}, _expect({"admin", "operator"}, 200)),
    "approve": ("under_review", "post", "{id}/approve/", {}, _expect({"admin", "compliance"}, 200)),
    "reject": ("under_review", "post", "{id}/reject/", {"reason": "no deed"}, _expect({"admin", "compliance"}, 200)),
    "suspend": ("approved", "post", "{id}/suspend/", {"reason": "audit"}, _expect({"admin", "compliance"}, 200)),
    "reinstate": ("suspended", "post", "{id}/reinstate/", {}, _expect({"admin", "compliance"}, 200)),
    "retire": ("approved", "post", "{id}/retire/", {"reason": "sold"}, _expect({"admin", "compliance"}, 200)),
    "documents list": ("draft", "get", "{id}/documents/", None, _expect(STAFF, 200, investor_hidden=True)),
    "documents add": ("draft", "post", "{id}/documents/", "upload", _expect({"admin", "operator"}, 201)),
    "document read": ("draft", "get", "{id}/documents/{doc}/", None, _expect(STAFF, 200, investor_hidden=True)),
    "document remove": ("draft", "delete", "{id}/documents/{doc}/", None, _expect({"admin", "operator"}, 204)),
    "document download": (
        "draft",
        "get",
        "{id}/documents/{file_doc}/download/",
        None,
        _expect(STAFF, 200, investor_hidden=True),
    ),
    "document download tokenized": (
        "tokenized",
        "get",
        "{id}/documents/{file_doc}/download/",
        None,
        _expect(STAFF | {"investor"}, 200),
    ),
    "history": ("draft", "get", "{id}/history/", None, _expect({"admin", "compliance", "auditor"}, 200)),
    "illegal approve of a draft": ("draft", "post", "{id}/approve/", {}, _expect({"admin", "compliance"}, 409)),
    "illegal submit of an approved asset": (
        "approved",
        "post",
        "{id}/submit/",
        {},
        _expect({"admin", "operator"}, 409),
    ),
}

CREATE_BODY = {
    "name": "Dock Warehouse",
    "asset_type": "real_estate",
    "jurisdiction": "GB",
    "currency": "GBP",
    "metadata": {"address": "2 Dock Road", "property_type": "industrial", "area_sqm": 900},
}


def _asset_in(state: str, make_asset) -> Asset:
    if state == "tokenized":  # the tokenize transition belongs to the tokenization domain
        asset = make_asset("approved")
        Asset.objects.filter(pk=asset.pk).update(status=AssetStatus.TOKENIZED)
        return Asset.objects.get(pk=asset.pk)
    return make_asset(state)


_PATHS = {
    "draft": [],
    "under_review": ["submit"],
    "approved": ["submit", "approve"],
    "suspended": ["submit", "approve", "suspend"],
    "tokenized": ["submit", "approve"],
}


def _asset_with_documents(state: str, users, make_asset):
    """An asset in `state` with a referenced and a stored document, both attached while it was a draft."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    asset = make_asset("draft")
    operator = users["operator"]
    reference = services.document_add(
        actor=operator, asset_id=asset.pk, name="Deed", kind="title_deed", uri="s3://deeds/1", sha256="a" * 64
    )
    upload = SimpleUploadedFile("deed.pdf", _pdf(), content_type="application/pdf")
    stored = services.document_add(actor=operator, asset_id=asset.pk, name="Scan", kind="title_deed", upload=upload)
    for step in _PATHS[state]:
        actor = operator if step == "submit" else users["compliance"]
        services.asset_transition(actor=actor, asset_id=asset.pk, transition=step, reason="because")
    if state == "tokenized":  # the tokenize transition belongs to the tokenization domain
        Asset.objects.filter(pk=asset.pk).update(status=AssetStatus.TOKENIZED)
    return Asset.objects.get(pk=asset.pk), reference, stored


@pytest.mark.parametrize("endpoint", list(MATRIX))
@pytest.mark.parametrize("role", ALL)
def test_role_gets_the_spec_answer(endpoint, role, users, client_for, make_asset, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    state, method, suffix, body, answers = MATRIX[endpoint]
    asset, document, stored = _asset_with_documents(state, users, make_asset)
    path = "/api/v1/assets/" + suffix.format(id=asset.pk, doc=document.pk, file_doc=stored.pk)
    client = client_for(None if role == "anonymous" else users[role])
    if body == "create":
        response = client.post(path, CREATE_BODY, format="json")
    elif body == "upload":
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile("deed.pdf", _pdf(), content_type="application/pdf")
        response = client.post(path, {"name": "Deed", "kind": "title_deed", "file": upload}, format="multipart")
    elif body is None:
        response = getattr(client, method)(path)
    else:
        response = getattr(client, method)(path, body, format="json")
    assert response.status_code == answers[role], response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code
    if answers[role] == 409:
        assert response.json()["code"] == "illegal_transition"


def test_investor_list_shows_only_tokenized_assets(users, client_for, make_asset):
    draft = make_asset("draft")
    tokenized = _asset_in("tokenized", make_asset)
    ids = {row["id"] for row in client_for(users["investor"]).get("/api/v1/assets/").json()["results"]}
    assert str(tokenized.pk) in ids
    assert str(draft.pk) not in ids


def test_asset_types_are_listed_for_every_role_with_their_schema(users, client_for):
    for role in ["admin", "operator", "compliance", "valuer", "auditor", "investor"]:
        response = client_for(users[role]).get("/api/v1/asset-types/")
        assert response.status_code == 200
        rows = {row["type"]: row for row in response.json()}
        assert len(rows) == 9
        assert rows["real_estate"]["metadata_schema"]["required"] == ["address", "property_type", "area_sqm"]
    assert client_for(None).get("/api/v1/asset-types/").status_code == 401
    assert client_for(users["norole"]).get("/api/v1/asset-types/").status_code == 403
