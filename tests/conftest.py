"""Shared fixtures: users for every role, authenticated API clients, and assets in any lifecycle state."""

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from assets import services
from tests.audit.triggers import audit_triggers_disabled
from tests.factories import REAL_ESTATE_METADATA, UserFactory

ROLES = ["admin", "operator", "compliance", "valuer", "auditor", "investor"]


@pytest.fixture(autouse=True, scope="session")
def _flush_past_the_audit_triggers():
    """Transactional tests end with Django's flush (TRUNCATE on PostgreSQL, DELETE on SQLite), which the triggers
    keeping the audit trail append-only refuse. Only here, in the test run, the flush switches them off around it."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with transaction.atomic(using=self.connection.alias), audit_triggers_disabled(self.connection):
            original(self, sql_list)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BaseDatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture(autouse=True)
def _fresh_asset_representations():
    """Each test starts with no cached asset representation (ids and versions repeat across tests' databases)."""
    from assets.detail_cache import asset_representations_clear

    asset_representations_clear()
    yield


@pytest.fixture
def users(db):
    """One user per role, plus `operator2` (a second operator) and `norole` (signed in, no role)."""
    made = {role: UserFactory(username=f"{role}-user", roles=[role]) for role in ROLES}
    made["operator2"] = UserFactory(username="operator2-user", roles=["operator"])
    made["compliance2"] = UserFactory(username="compliance2-user", roles=["compliance"])
    made["norole"] = UserFactory(username="norole-user")
    return made


@pytest.fixture
def client_for():
    """`client_for(user)` → an APIClient authenticated as that user (None: anonymous)."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def make_asset(users):
    """`make_asset(status)` → an asset driven through the real services to `status`."""

    def make(status: str = "draft", **fields):
        operator, compliance = users["operator"], users["compliance"]
        values = {
            "name": "Harbour Office",
            "asset_type": "real_estate",
            "jurisdiction": "GB",
            "currency": "GBP",
            "metadata": dict(REAL_ESTATE_METADATA),
        } | fields
        asset = services.asset_create(actor=operator, **values)
        paths = {
            "draft": [],
            "under_review": ["submit"],
            "approved": ["submit", "approve"],
            "suspended": ["submit", "approve", "suspend"],
            "retired": ["retire"],
        }
        for step in paths[status]:
            actor = operator if step == "submit" else compliance
            asset = services.asset_transition(actor=actor, asset_id=asset.pk, transition=step, reason="because")
        return asset

    return make
