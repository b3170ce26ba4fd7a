"""BaseViewSet fixes authentication, permissions and scoping; every routed viewset inherits it and declares roles."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework.authentication import BasicAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.test import APIRequestFactory, force_authenticate

from assets.models import Asset
from rwa_service.accounts.roles import ALL_ROLES, Role
from rwa_service.api.permissions import RolePermission
from rwa_service.api.router import router
from rwa_service.api.viewsets import BaseViewSet

ROUTE_ACTIONS = {"list", "create", "retrieve", "update", "partial_update", "destroy"}


def test_subclass_setting_permission_classes_fails_at_class_creation():
    with pytest.raises(ImproperlyConfigured, match="permission_classes"):

        class Loosened(BaseViewSet):
            permission_classes = (AllowAny,)


def test_subclass_setting_authentication_classes_fails_at_class_creation():
    with pytest.raises(ImproperlyConfigured, match="authentication_classes"):

        class BasicOnly(BaseViewSet):
            authentication_classes = (BasicAuthentication,)


def test_subclass_overriding_get_queryset_fails_at_class_creation():
    with pytest.raises(ImproperlyConfigured, match="scoped_queryset"):

        class Unscoped(BaseViewSet):
            def get_queryset(self):
                return Asset.objects.all()


def test_grandchild_cannot_loosen_permissions_either():
    class Middle(BaseViewSet):
        role_rules = {"list": ALL_ROLES}

    with pytest.raises(ImproperlyConfigured):

        class Grandchild(Middle):
            permission_classes = (AllowAny,)


def test_subclass_that_only_declares_rules_and_scope_is_accepted(users):
    class Scoped(BaseViewSet):
        role_rules = {"list": frozenset({Role.OPERATOR})}

        def scoped_queryset(self, *, user):
            return Asset.objects.filter(created_by=user)

    view = Scoped()
    view.request = APIRequestFactory().get("/")
    view.request.user = users["operator"]

    assert view.permission_classes == (IsAuthenticated, RolePermission)
    assert str(view.get_queryset().query) == str(Asset.objects.filter(created_by=users["operator"]).query)


def test_viewset_without_scoped_queryset_refuses_to_build_a_queryset(users):
    class Forgetful(BaseViewSet):
        role_rules = {"list": ALL_ROLES}

    view = Forgetful()
    view.request = APIRequestFactory().get("/")
    view.request.user = users["operator"]

    with pytest.raises(ImproperlyConfigured, match="scoped_queryset"):
        view.get_queryset()


def test_every_registered_viewset_inherits_base_viewset_with_the_fixed_permissions():
    assert router.registry, "the router has no viewsets"
    for prefix, viewset, _basename in router.registry:
        assert issubclass(viewset, BaseViewSet), prefix
        assert viewset.permission_classes == (IsAuthenticated, RolePermission), prefix
        assert viewset.authentication_classes == BaseViewSet.authentication_classes, prefix


def test_every_routed_action_of_every_viewset_declares_its_roles():
    undeclared = []
    for prefix, viewset, _basename in router.registry:
        actions = {name for name in ROUTE_ACTIONS if hasattr(viewset, name)}
        for extra in viewset.get_extra_actions():
            actions.add(extra.__name__)
            actions.update(extra.mapping.values())
        undeclared += [f"{prefix}:{action}" for action in sorted(actions) if action not in viewset.role_rules]
    assert undeclared == []


def test_undeclared_action_is_refused_to_everyone_but_admin(users):
    class Partial(BaseViewSet):
        role_rules = {"list": ALL_ROLES}

        def scoped_queryset(self, *, user):
            return Asset.objects.none()

        def list(self, request):
            from rest_framework.response import Response

            return Response({"ok": True})

        def create(self, request):
            from rest_framework.response import Response

            return Response({"created": True}, status=201)

    view = Partial.as_view({"get": "list", "post": "create"})
    factory = APIRequestFactory()

    def call(method: str, user):
        request = getattr(factory, method)("/partial/", {}, format="json")
        force_authenticate(request, user=user)
        return view(request)

    assert call("get", users["investor"]).status_code == 200
    refused = call("post", users["operator"])
    assert refused.status_code == 403
    assert refused.data["code"] == "permission_denied"
    allowed = call("post", users["admin"])
    assert allowed.status_code == 201
    assert allowed.data == {"created": True}


def test_role_permission_lets_options_through_for_any_signed_in_user(users, client_for):
    response = client_for(users["norole"]).options("/api/v1/assets/")

    assert response.status_code == 200
    assert response.json()["name"]


def test_put_is_405_for_an_admin_too(users, client_for, make_asset):
    asset = make_asset("draft")

    response = client_for(users["admin"]).put(f"/api/v1/assets/{asset.pk}/", {"name": "x"}, format="json")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize("setting", ["permission_classes", "authentication_classes"])
def test_an_action_setting_its_own_permission_or_authentication_fails_at_class_creation(setting):
    from rest_framework.decorators import action

    loosened = {"permission_classes": [AllowAny], "authentication_classes": [BasicAuthentication]}[setting]
    with pytest.raises(ImproperlyConfigured, match=setting):

        class Loophole(BaseViewSet):
            role_rules = {"peek": ALL_ROLES}

            @action(detail=False, methods=["get"], **{setting: loosened})
            def peek(self, request):
                return None


def test_an_action_with_other_settings_is_accepted():
    from rest_framework.decorators import action

    class Paged(BaseViewSet):
        role_rules = {"recent": ALL_ROLES}

        @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
        def recent(self, request):
            return None

    assert [extra.__name__ for extra in Paged.get_extra_actions()] == ["recent"]


@pytest.mark.parametrize("method", ["get_permissions", "get_authenticators"])
def test_overriding_get_permissions_or_get_authenticators_fails_at_class_creation(method):
    with pytest.raises(ImproperlyConfigured, match=method):
        type("Bypass", (BaseViewSet,), {method: lambda self: []})


def test_a_refused_action_names_the_roles_that_may_run_it(users, client_for, make_asset):
    asset = make_asset("under_review")

    response = client_for(users["operator"]).post(f"/api/v1/assets/{asset.pk}/approve/", {}, format="json")

    assert response.status_code == 403
    assert response.json()["detail"] == "This action needs one of the roles: compliance."
    create = client_for(users["valuer"]).post("/api/v1/assets/", {}, format="json")
    assert create.json()["detail"] == "This action needs one of the roles: operator."
    history = client_for(users["operator"]).get(f"/api/v1/assets/{asset.pk}/history/")
    assert history.json()["detail"] == "This action needs one of the roles: auditor, compliance."


def test_an_undeclared_action_names_admin_as_the_role_it_needs(users):
    class Partial(BaseViewSet):
        role_rules = {}

        def scoped_queryset(self, *, user):
            return Asset.objects.none()

        def list(self, request):
            return None

    request = APIRequestFactory().get("/partial/")
    force_authenticate(request, user=users["operator"])
    response = Partial.as_view({"get": "list"})(request)

    assert response.status_code == 403
    assert response.data["detail"] == "This action needs one of the roles: admin."


def _pk_view(users, scope, pk):
    class ByPk(BaseViewSet):
        role_rules = {"retrieve": ALL_ROLES}

        def scoped_queryset(self, *, user):
            return scope(user)

    view = ByPk()
    view.request = APIRequestFactory().get("/")
    view.request.user = users["operator"]
    view.kwargs, view.action, view.detail = {"pk": pk}, "retrieve", True
    return view


@pytest.mark.django_db
def test_get_object_pk_looks_up_a_conditioned_scope_and_answers_404_outside_it(users, make_asset):
    from django.db import connection
    from django.http import Http404
    from django.test.utils import CaptureQueriesContext

    mine, other = make_asset("draft"), make_asset("draft")
    Asset.objects.filter(pk=other.pk).update(created_by=users["compliance"])

    def scope(user):
        return Asset.objects.filter(created_by=user)

    with CaptureQueriesContext(connection) as queries:
        assert _pk_view(users, scope, str(mine.pk)).get_object_pk() == mine.pk
    assert len(queries) == 1
    for outside in (str(other.pk), "not-a-uuid"):
        with pytest.raises(Http404):
            _pk_view(users, scope, outside).get_object_pk()


@pytest.mark.django_db
def test_get_object_pk_of_an_unconditioned_scope_only_parses_the_id(users, make_asset):
    from django.db import connection
    from django.http import Http404
    from django.test.utils import CaptureQueriesContext

    asset = make_asset("draft")
    with CaptureQueriesContext(connection) as queries:
        assert _pk_view(users, lambda user: Asset.objects.all(), str(asset.pk)).get_object_pk() == asset.pk
    assert len(queries) == 0  # every row is in scope: the service's own lookup decides existence
    with pytest.raises(Http404):
        _pk_view(users, lambda user: Asset.objects.all(), "not-a-uuid").get_object_pk()
    for scope in (lambda user: Asset.objects.none(), lambda user: Asset.objects.all()[:5]):
        with pytest.raises(Http404):  # empty or sliced scopes are looked up, never assumed
            _pk_view(users, scope, str(make_asset("draft").pk)).get_object_pk()
