"""Reading one asset: the representation is cached per (id, version), never served stale, never to the wrong user."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from assets import services
from assets.detail_cache import asset_representation


def test_a_second_read_of_the_same_version_costs_one_version_query(users, client_for, make_asset):
    asset = make_asset()
    client = client_for(users["auditor"])
    first = client.get(f"/api/v1/assets/{asset.pk}/")
    with CaptureQueriesContext(connection) as queries:
        second = client.get(f"/api/v1/assets/{asset.pk}/")
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json() and second["ETag"] == first["ETag"] == f'"{asset.pk}-1"'
    assert len(queries.captured_queries) == 1 and "version" in queries.captured_queries[0]["sql"]


def test_a_changed_asset_is_read_at_its_new_version_at_once(users, client_for, make_asset):
    asset = make_asset()
    client = client_for(users["operator"])
    assert client.get(f"/api/v1/assets/{asset.pk}/").json()["name"] == "Harbour Office"
    services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"name": "Harbour House"})
    response = client.get(f"/api/v1/assets/{asset.pk}/")
    assert response.json()["name"] == "Harbour House" and response.json()["version"] == 2
    assert response["ETag"] == f'"{asset.pk}-2"'
    services.asset_transition(actor=users["operator"], asset_id=asset.pk, transition="submit", reason="ready")
    assert client.get(f"/api/v1/assets/{asset.pk}/").json()["status"] == "under_review"


def test_a_cached_asset_is_still_404_for_an_investor_who_may_not_see_it(users, client_for, make_asset):
    asset = make_asset("approved")  # not tokenized, not held: invisible to investors
    assert client_for(users["operator"]).get(f"/api/v1/assets/{asset.pk}/").status_code == 200  # now cached
    response = client_for(users["investor"]).get(f"/api/v1/assets/{asset.pk}/")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_an_id_that_is_not_a_uuid_is_404(users, client_for):
    assert client_for(users["operator"]).get("/api/v1/assets/not-a-uuid/").status_code == 404


def test_if_none_match_with_the_current_tag_is_304_and_a_stale_tag_is_the_body(users, client_for, make_asset):
    asset = make_asset()
    client = client_for(users["operator"])
    assert client.get(f"/api/v1/assets/{asset.pk}/", HTTP_IF_NONE_MATCH=f'"{asset.pk}-1"').status_code == 304
    services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"name": "Harbour House"})
    response = client.get(f"/api/v1/assets/{asset.pk}/", HTTP_IF_NONE_MATCH=f'"{asset.pk}-1"')
    assert response.status_code == 200 and response.json()["name"] == "Harbour House"


def test_a_representation_asked_at_an_old_version_comes_back_at_the_current_one(users, make_asset):
    asset = make_asset()
    services.asset_update(actor=users["operator"], asset_id=asset.pk, changes={"name": "Harbour House"})
    revision, representation = asset_representation(asset_id=asset.pk, revision="1")  # read just before the change
    data = representation.data
    assert revision == "2" and data["version"] == 2 and data["name"] == "Harbour House"
    assert isinstance(data, dict) and not hasattr(data, "serializer")  # kept plain: no serializer held in memory


def test_a_new_current_valuation_changes_the_etag_and_the_cached_body_at_once(users, client_for, make_asset):
    from tests.factories import UserFactory
    from valuation.services import valuation_approve, valuation_record

    asset = make_asset("approved")
    client = client_for(users["auditor"])
    first = client.get(f"/api/v1/assets/{asset.pk}/")
    assert first.json()["current_valuation"] is None and first["ETag"] == f'"{asset.pk}-{asset.version}"'
    draft = valuation_record(
        actor=users["valuer"],
        asset_id=asset.pk,
        method="appraisal",
        as_of=asset.created_at.date(),
        inputs={"value": "5"},
    )
    valuation_approve(actor=UserFactory(roles=["valuer"]), valuation_id=draft.pk)
    stale = client.get(f"/api/v1/assets/{asset.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert stale.status_code == 200 and stale.json()["current_valuation"]["id"] == str(draft.pk)
    assert stale["ETag"] == f'"{asset.pk}-{asset.version}-{draft.pk.hex}"'
    assert client.get(f"/api/v1/assets/{asset.pk}/", HTTP_IF_NONE_MATCH=stale["ETag"]).status_code == 304
    patched = client_for(users["compliance"]).post(
        f"/api/v1/assets/{asset.pk}/suspend/", {"reason": "x"}, format="json", HTTP_IF_MATCH=stale["ETag"]
    )
    assert patched.status_code == 200, patched.content  # If-Match with a revision tag names the version (no 412)


def test_a_list_reuses_cached_representations_but_never_a_stale_one(users, client_for, make_asset):
    first, second = make_asset(name="First"), make_asset(name="Second")
    client = client_for(users["operator"])
    names = {row["id"]: row["name"] for row in client.get("/api/v1/assets/").json()["results"]}
    assert names[str(first.pk)] == "First" and names[str(second.pk)] == "Second"
    services.asset_update(actor=users["operator"], asset_id=first.pk, changes={"name": "First, renamed"})
    rows = {row["id"]: row for row in client.get("/api/v1/assets/").json()["results"]}
    assert rows[str(first.pk)]["name"] == "First, renamed" and rows[str(first.pk)]["version"] == 2
    assert rows[str(second.pk)]["name"] == "Second"
    detail = client.get(f"/api/v1/assets/{first.pk}/").json()
    assert detail == rows[str(first.pk)]  # the list and the detail show one representation
