"""Accounts: the six roles (as Django groups), `auth/me/` and role management commands."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "rwa_service.accounts"
    label = "accounts"
    verbose_name = "Accounts and roles"

    def ready(self) -> None:
        from rwa_service.accounts import authentication  # noqa: F401 - connects the user-cache eviction signals
