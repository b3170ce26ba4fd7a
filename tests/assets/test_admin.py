"""The asset admin: operators and compliance walk the lifecycle through the same services as the API."""

import json

import pytest

from assets.models import Asset
from audit.models import AuditEvent
from tests.factories import REAL_ESTATE_METADATA

CHANGELIST = "/admin/assets/asset/"
INLINE = {"documents-TOTAL_FORMS": "0", "documents-INITIAL_FORMS": "0", "documents-MAX_NUM_FORMS": "1000"}


@pytest.fixture
def staff(users):
    for name in ["operator", "compliance", "auditor", "valuer", "compliance2"]:
        users[name].is_staff = True
        users[name].save(update_fields=["is_staff"])
    return users


def _login(client, user):
    client.force_login(user)
    return client


def _add_form(**overrides):
    return {
        "name": "Admin Tower",
        "asset_type": "real_estate",
        "jurisdiction": "GB",
        "currency": "GBP",
        "issuer_name": "Issuer",
        "description": "",
        "metadata": json.dumps(REAL_ESTATE_METADATA),
        **INLINE,
    } | overrides


def _action(client, action, assets, reason=""):
    data = {"action": action, "_selected_action": [str(a.pk) for a in assets], "reason": reason, "index": "0"}
    return client.post(CHANGELIST, data, follow=True)


def test_operator_adds_an_asset_through_the_service(client, staff):
    response = _login(client, staff["operator"]).post(f"{CHANGELIST}add/", _add_form())
    assert response.status_code == 302, response.content[:2000]
    asset = Asset.objects.get(name="Admin Tower")
    assert asset.reference.startswith("RE-") and asset.created_by == staff["operator"]
    event = AuditEvent.objects.get(object_id=str(asset.pk))
    assert (event.action, event.actor) == ("asset.created", "operator-user")


def test_invalid_metadata_shows_on_the_form_and_stores_nothing(client, staff):
    form = _add_form(metadata=json.dumps({"address": "x", "property_type": "castle", "area_sqm": 1}))
    response = _login(client, staff["operator"]).post(f"{CHANGELIST}add/", form)
    assert response.status_code == 200
    assert b"castle" in response.content
    assert not Asset.objects.exists()


def test_operator_and_compliance_walk_the_lifecycle_with_admin_actions(client, staff, make_asset):
    asset = make_asset("draft")
    _action(_login(client, staff["operator"]), "action_submit", [asset])
    assert Asset.objects.get(pk=asset.pk).status == "under_review"
    _action(_login(client, staff["compliance"]), "action_reject", [asset], reason="Need deed")
    fresh = Asset.objects.get(pk=asset.pk)
    assert (fresh.status, fresh.status_reason) == ("draft", "Need deed")
    _action(_login(client, staff["operator"]), "action_submit", [asset])
    _action(_login(client, staff["compliance"]), "action_approve", [asset])
    _action(client, "action_suspend", [asset], reason="Audit")
    assert Asset.objects.get(pk=asset.pk).status == "suspended"
    _action(client, "action_reinstate", [asset])
    _action(client, "action_retire", [asset], reason="Sold")
    assert Asset.objects.get(pk=asset.pk).status == "retired"
    actions = list(AuditEvent.objects.filter(object_id=str(asset.pk)).values_list("action", flat=True))
    assert actions[-6:] == [
        "asset.rejected",
        "asset.submitted",
        "asset.approved",
        "asset.suspended",
        "asset.reinstated",
        "asset.retired",
    ]


def test_reason_is_required_by_the_admin_action_too(client, staff, make_asset):
    asset = make_asset("approved")
    response = _action(_login(client, staff["compliance"]), "action_suspend", [asset], reason="")
    assert b"reason is required" in response.content
    assert Asset.objects.get(pk=asset.pk).status == "approved"


def test_submitter_cannot_approve_in_the_admin(client, staff, make_asset):
    both = staff["compliance2"]
    both.groups.add(*staff["operator"].groups.all())
    _login(client, both)
    client.post(f"{CHANGELIST}add/", _add_form(name="Mine"))
    asset = Asset.objects.get(name="Mine")
    _action(client, "action_submit", [asset])
    response = _action(client, "action_approve", [asset])
    assert b"Maker-checker" in response.content
    assert Asset.objects.get(pk=asset.pk).status == "under_review"


def test_actions_are_offered_only_to_their_role(client, staff, make_asset):
    make_asset("draft")  # the action bar shows only over a non-empty list
    operator_page = _login(client, staff["operator"]).get(CHANGELIST).content.decode()
    assert "action_submit" in operator_page and "action_approve" not in operator_page
    compliance_page = _login(client, staff["compliance"]).get(CHANGELIST).content.decode()
    assert "action_approve" in compliance_page and "action_submit" not in compliance_page


def test_a_non_draft_asset_is_read_only_in_the_admin(client, staff, make_asset):
    asset = make_asset("approved")
    _login(client, staff["operator"])
    page = client.get(f"{CHANGELIST}{asset.pk}/change/").content.decode()
    assert 'name="name"' not in page
    client.post(f"{CHANGELIST}{asset.pk}/change/", _add_form(name="Hacked"))
    assert Asset.objects.get(pk=asset.pk).name == asset.name


def test_draft_edit_in_the_admin_goes_through_the_service(client, staff, make_asset):
    asset = make_asset("draft")
    response = _login(client, staff["operator"]).post(f"{CHANGELIST}{asset.pk}/change/", _add_form(name="Edited"))
    assert response.status_code == 302
    fresh = Asset.objects.get(pk=asset.pk)
    assert (fresh.name, fresh.version) == ("Edited", asset.version + 1)
    assert AuditEvent.objects.filter(object_id=str(asset.pk), action="asset.updated").count() == 1


def test_readers_see_assets_but_cannot_add(client, staff):
    for role in ["auditor", "valuer"]:
        _login(client, staff[role])
        assert client.get(CHANGELIST).status_code == 200
        assert client.get(f"{CHANGELIST}add/").status_code == 403


def test_investor_has_no_admin(client, users):
    response = _login(client, users["investor"]).get(CHANGELIST)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def _hidden_version(page: str) -> str:
    import re

    match = re.search(r'name="expected_version" value="(\d+)"', page) or re.search(
        r'value="(\d+)"[^>]*name="expected_version"', page
    )
    assert match, "the change form carries no expected_version"
    return match.group(1)


def test_a_stale_admin_form_shows_an_error_instead_of_overwriting(client, staff, make_asset):
    from assets import services

    asset = make_asset("draft")
    url = f"{CHANGELIST}{asset.pk}/change/"
    opened_at = _hidden_version(_login(client, staff["operator"]).get(url).content.decode())
    assert opened_at == str(asset.version)
    services.asset_update(actor=staff["operator2"], asset_id=asset.pk, changes={"name": "Their edit"})

    response = client.post(url, _add_form(name="My edit", expected_version=opened_at))

    assert response.status_code == 200
    assert "Someone else changed this asset" in response.content.decode()
    fresh = Asset.objects.get(pk=asset.pk)
    assert (fresh.name, fresh.version) == ("Their edit", asset.version + 1)
    assert AuditEvent.objects.filter(object_id=str(asset.pk), action="asset.updated").count() == 1


def test_an_admin_form_at_the_current_version_saves(client, staff, make_asset):
    asset = make_asset("draft")
    url = f"{CHANGELIST}{asset.pk}/change/"
    opened_at = _hidden_version(_login(client, staff["operator"]).get(url).content.decode())

    response = client.post(url, _add_form(name="My edit", expected_version=opened_at))

    assert response.status_code == 302
    assert Asset.objects.get(pk=asset.pk).name == "My edit"


def test_an_edit_racing_past_the_form_check_is_refused_by_the_service(client, staff, make_asset, monkeypatch):
    from assets import admin as asset_admin
    from assets import services

    asset = make_asset("draft")
    real_update = services.asset_update

    def racing_update(**kwargs):  # someone else saves between the form's check and this save
        real_update(actor=staff["operator2"], asset_id=asset.pk, changes={"name": "Their edit"})
        return real_update(**kwargs)

    monkeypatch.setattr(asset_admin.services, "asset_update", racing_update)
    url = f"{CHANGELIST}{asset.pk}/change/"
    response = _login(client, staff["operator"]).post(
        url, _add_form(name="My edit", expected_version=str(asset.version)), follow=True
    )

    assert response.status_code == 200
    assert "re-read it and retry" in response.content.decode()
    assert Asset.objects.get(pk=asset.pk).name == "Harbour Office"  # the whole admin save rolled back


DOCUMENTS = "/admin/assets/document/"


def test_the_document_admin_offers_only_draft_assets(client, staff, make_asset):
    draft, approved = make_asset("draft", name="Draft One"), make_asset("approved", name="Approved One")
    page = _login(client, staff["operator"]).get(f"{DOCUMENTS}add/").content.decode()
    assert str(draft.pk) in page and str(approved.pk) not in page


def test_the_document_admin_refuses_a_reference_with_another_scheme(client, staff, make_asset):
    from assets.models import Document

    asset = make_asset("draft")
    form = {"asset": str(asset.pk), "name": "Ref", "kind": "other", "uri": "http://x/y", "sha256": "a" * 64}
    response = _login(client, staff["operator"]).post(f"{DOCUMENTS}add/", form)
    assert response.status_code == 200 and "https://, s3:// or ipfs://" in response.content.decode()
    assert not Document.objects.exists()


def test_an_upload_the_service_refuses_is_reported_in_the_admin_not_a_500(
    client, staff, make_asset, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from assets.models import Document

    settings.MEDIA_ROOT = tmp_path
    asset = make_asset("draft")
    upload = SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/x-msdownload")
    form = {"asset": str(asset.pk), "name": "Exe", "kind": "other", "upload": upload}
    response = _login(client, staff["operator"]).post(f"{DOCUMENTS}add/", form, follow=True)
    assert response.status_code == 200 and "is not accepted" in response.content.decode()
    assert not Document.objects.exists() and not any(tmp_path.rglob("*"))
