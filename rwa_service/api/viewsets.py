"""The project's base ViewSet. Every API view inherits it: authentication, role permissions and queryset scoping
are fixed here, and a subclass that tries to loosen them fails at import time."""

from collections.abc import Mapping
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.settings import api_settings

from rwa_service.accounts.roles import Role
from rwa_service.api.permissions import RolePermission

_FIXED = ("authentication_classes", "permission_classes")
_FIXED_METHODS = ("get_authenticators", "get_permissions")


class BaseViewSet(viewsets.GenericViewSet):
    """Authenticated, role-checked and scoped.

    Subclasses declare `role_rules` (action name → roles allowed) and implement `scoped_queryset(user=...)`,
    which must return only what that user may see (an investor's own objects, say): objects outside it are 404.
    """

    authentication_classes = tuple(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    permission_classes = (IsAuthenticated, RolePermission)
    role_rules: ClassVar[Mapping[str, frozenset[Role]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _FIXED:
            if name in cls.__dict__:
                raise ImproperlyConfigured(f"{cls.__name__} may not override {name}; BaseViewSet fixes it.")
        for name in _FIXED_METHODS:
            if name in cls.__dict__:
                raise ImproperlyConfigured(f"{cls.__name__} may not override {name}(); BaseViewSet fixes it.")
        for attribute, value in cls.__dict__.items():
            loosened = [name for name in _FIXED if name in (getattr(value, "kwargs", None) or {})]
            if hasattr(value, "mapping") and loosened:  # an @action(...) setting its own classes
                raise ImproperlyConfigured(
                    f"{cls.__name__}.{attribute} is an action that may not set {', '.join(loosened)}; "
                    "BaseViewSet fixes them (declare its roles in role_rules)."
                )
        if "get_queryset" in cls.__dict__:
            raise ImproperlyConfigured(f"{cls.__name__} must scope through scoped_queryset(), not get_queryset().")

    def scoped_queryset(self, *, user: Any) -> QuerySet:
        raise ImproperlyConfigured(f"{type(self).__name__} must implement scoped_queryset(user=...).")

    def get_queryset(self) -> QuerySet:
        return self.scoped_queryset(user=self.request.user)

    def get_object_pk(self) -> Any:
        """The primary key of the object the URL names, looked up in the scoped queryset exactly as get_object
        looks it up (404 outside the scope), without loading the object or its relations: for actions that hand
        only its id to a service which looks the object up itself and answers 404 when it does not exist (a
        transfer). A scope without any condition (staff) admits every row, so then no query is made: the id is
        only parsed (a malformed one is a 404) and the service's own lookup decides."""
        queryset = self.filter_queryset(self.get_queryset())
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        query = queryset.query
        if self.lookup_field == "pk" and not query.where and query.combinator is None and not query.is_sliced:
            try:
                return queryset.model._meta.pk.to_python(self.kwargs[lookup_url_kwarg])
            except DjangoValidationError:
                raise Http404 from None
        try:
            found = list(queryset.filter(**{self.lookup_field: self.kwargs[lookup_url_kwarg]}).values_list("pk")[:1])
        except (TypeError, ValueError, DjangoValidationError):
            raise Http404 from None
        if not found:
            raise Http404
        return found[0][0]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """List filters, search and ordering apply to lists; a detail route looks one object up in the scoped
        queryset as it is (building a FilterSet per detail request costs without changing the answer)."""
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)
