"""Assets: the registry of real-world assets, their lifecycle and their documents."""

from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "assets"
    verbose_name = "Assets"
