"""The asset admin page charts the asset's valuation history as server-rendered SVG."""

from datetime import timedelta

from django.utils import timezone

from tests.factories import UserFactory
from valuation.charts import valuation_history_svg
from valuation.services import valuation_approve, valuation_record

TODAY = timezone.localdate()


def _approved(users, approver, asset, value, days_ago):
    draft = valuation_record(
        actor=users["valuer"], asset_id=asset.pk, method="appraisal", as_of=TODAY - timedelta(days=days_ago),
        inputs={"value": value},
    )  # fmt: skip
    return valuation_approve(actor=approver, valuation_id=draft.pk)


def test_no_valuation_says_so(make_asset):
    assert "No approved valuation yet" in valuation_history_svg(asset_id=make_asset().pk)


def test_the_chart_plots_approved_and_superseded_valuations_not_drafts(users, make_asset):
    asset, approver = make_asset("approved"), UserFactory(roles=["valuer"])
    _approved(users, approver, asset, "1000", 60)
    _approved(users, approver, asset, "1500", 30)
    _approved(users, approver, asset, "1200", 0)
    valuation_record(actor=users["valuer"], asset_id=asset.pk, method="appraisal", as_of=TODAY, inputs={"value": "9"})
    svg = str(valuation_history_svg(asset_id=asset.pk))
    assert svg.startswith("<svg") and svg.count("<circle") == 3  # the draft is not drawn
    assert "1,500.00" in svg and "1,000.00" in svg and "9.00" not in svg
    assert (TODAY - timedelta(days=60)).isoformat() in svg and TODAY.isoformat() in svg


def test_the_asset_admin_page_shows_the_chart(client, users, make_asset):
    asset, approver = make_asset("approved"), UserFactory(roles=["valuer"])
    _approved(users, approver, asset, "1000", 5)
    staff = users["auditor"]
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    page = client.get(f"/admin/assets/asset/{asset.pk}/change/")
    assert page.status_code == 200 and b"<svg" in page.content and b"valuation history" in page.content.lower()
