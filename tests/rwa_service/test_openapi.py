"""The OpenAPI 3 document: valid, complete (every v1 route and method) and typed; Swagger UI is served."""

import json
import re

import pytest
from django.contrib.admindocs.views import simplify_regex
from django.urls import URLPattern, URLResolver, get_resolver
from openapi_spec_validator import validate
from rest_framework.test import APIClient

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
NO_BODY_STATUSES = {"204", "304"}


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _openapi_path(route: str) -> str:
    path = simplify_regex(route)
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "{" + ("id" if m.group(1) == "pk" else m.group(1)) + "}", path)


def _methods(pattern: URLPattern) -> set[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions is not None:  # a ViewSet route: the methods the router mapped
        return set(actions) & HTTP_METHODS
    view_class = callback.cls
    return {method for method in HTTP_METHODS if hasattr(view_class, method)}


def _api_routes() -> dict[str, set[str]]:
    """OpenAPI path → HTTP methods, for every route under api/v1/ except format-suffix variants and the API root."""
    routes: dict[str, set[str]] = {}
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or "format" in route or pattern.name == "api-root":
            continue
        routes.setdefault(_openapi_path(route), set()).update(_methods(pattern))
    return routes


@pytest.fixture
def schema(db) -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200, response.content
    assert "json" in response["Content-Type"]
    return json.loads(response.content)


def test_schema_is_served_to_anonymous_callers_and_is_valid_openapi_3(schema):
    validate(schema)

    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "RWA Asset Service API"
    assert schema["info"]["version"] == "1.0.0"


def test_schema_is_also_served_to_signed_in_users(users, client_for):
    response = client_for(users["investor"]).get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert "/api/v1/assets/" in json.loads(response.content)["paths"]


def test_route_walk_finds_the_known_api_routes():
    routes = _api_routes()

    assert routes["/api/v1/auth/token/"] == {"post"}
    assert routes["/api/v1/assets/"] == {"get", "post"}
    assert routes["/api/v1/assets/{id}/"] == {"get", "patch", "delete"}
    assert routes["/api/v1/assets/{id}/documents/{document_id}/"] == {"get", "delete"}


def test_every_api_route_and_method_appears_in_the_schema(schema):
    routes = _api_routes()
    assert len(routes) >= 15

    missing_paths = sorted(set(routes) - set(schema["paths"]))
    assert missing_paths == []
    missing_methods = {
        path: sorted(methods - set(schema["paths"][path]))
        for path, methods in routes.items()
        if path in schema["paths"]
    }
    assert {path: methods for path, methods in missing_methods.items() if methods} == {}


def test_schema_documents_no_path_outside_the_routes(schema):
    routes = _api_routes()

    assert sorted(set(schema["paths"]) - set(routes)) == []


def test_every_operation_has_a_typed_success_response(schema):
    untyped = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            success = {code: response for code, response in operation["responses"].items() if code.startswith("2")}
            assert success, f"{method.upper()} {path} documents no 2xx response"
            for code, response in success.items():
                if code in NO_BODY_STATUSES:
                    continue
                content = response.get("content") or {}
                if not any("schema" in media for media in content.values()):
                    untyped.append(f"{method.upper()} {path} {code}")
    assert untyped == []


def test_schema_declares_bearer_jwt_security(schema):
    schemes = schema["components"]["securitySchemes"]

    assert any(scheme.get("type") == "http" and scheme.get("scheme") == "bearer" for scheme in schemes.values())
    assets_list = schema["paths"]["/api/v1/assets/"]["get"]
    assert any(requirement for requirement in assets_list["security"])


def test_swagger_ui_is_served_as_html():
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "swagger-ui" in html.lower()
    assert "/api/schema/" in html
