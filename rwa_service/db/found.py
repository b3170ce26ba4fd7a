"""`one_or_not_found(queryset, "No such asset.", pk=asset_id)`: the one row a service looks up by id, or NotFound.

An id that names nothing is a 404 whatever its form: no such row, or a malformed id (a UUID field rejects a string
that is not one with Django's ValidationError, other fields with ValueError or TypeError). Every service that loads
a row by an id given by its caller goes through here, so none answers a malformed id with a 500.
"""

from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import models

from rwa_service.exceptions import NotFound

M = TypeVar("M", bound=models.Model)


def one_or_not_found(queryset: models.QuerySet[M], missing: str, **lookup: Any) -> M:
    """`queryset.get(**lookup)`, with NotFound(`missing`) when no row matches or the lookup's key is malformed."""
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound(missing) from exc
