"""Tokenization selectors: what a user is linked to."""

from tests.tokenization.factories import InvestorFactory


def test_me_names_the_investor_linked_to_the_user(users, client_for):
    investor = InvestorFactory(user=users["investor"])
    assert client_for(users["investor"]).get("/api/v1/auth/me/").json()["investor"] == str(investor.pk)
    assert client_for(users["auditor"]).get("/api/v1/auth/me/").json()["investor"] is None
