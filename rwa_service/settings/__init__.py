"""Settings split by environment: base, local (embedded default), test and production.

`DJANGO_SETTINGS_MODULE` picks one; `manage.py` defaults to `rwa_service.settings.local`.
"""
