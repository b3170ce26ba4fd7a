"""RWA Asset Service: the Django project package (settings, URLs, API plumbing, Celery app)."""

from rwa_service.celery import app as celery_app

__all__ = ["celery_app"]
