"""The committed OpenAPI document is the generated one, and it documents what clients rely on."""

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

import app
from app.openapi_dump import render

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
# Revoking a key is always safe, so it is the one change that needs no If-Match.
# Revoking a credential is always safe, so it needs no If-Match (API.md, API keys).
IF_MATCH_EXEMPT = {"revoke_api_key", "revoke_calendar_token"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render())
    return document


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _header_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p.get("in") == "header"}


def test_committed_document_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render(), (
        "openapi/openapi.json is stale: run `make openapi` and commit the result"
    )


def _handlers() -> dict[tuple[str, str], str]:
    """Every route of every `app.<domain>.router` module, by (method, path), named by its function."""
    handlers: dict[tuple[str, str], str] = {}
    for module_info in pkgutil.walk_packages(app.__path__, prefix="app."):
        if not module_info.name.endswith(".router"):
            continue
        router = getattr(importlib.import_module(module_info.name), "router", None)
        assert isinstance(router, APIRouter), f"{module_info.name} has no APIRouter named `router`"
        for route in router.routes:
            if isinstance(route, APIRoute) and route.include_in_schema:
                handlers.update({(m.lower(), route.path): route.endpoint.__name__ for m in route.methods or ()})
    return handlers


def test_operation_ids_are_handler_names(schema: dict[str, Any]) -> None:
    handlers = _handlers()
    documented = {(method, path): op.get("operationId") for method, path, op in _operations(schema)}
    assert documented == handlers


def test_every_operation_is_described(schema: dict[str, Any]) -> None:
    for method, path, operation in _operations(schema):
        assert operation.get("summary", "").strip(), f"{method.upper()} {path} has no summary"
        assert operation.get("description", "").strip(), f"{method.upper()} {path} has no description"


def test_errors_are_documented_as_problems(schema: dict[str, Any]) -> None:
    assert "Problem" in schema["components"]["schemas"]
    for method, path, operation in _operations(schema):
        # An operation without parameters or a body (the probes) has no input to refuse with 422.
        takes_input = bool(operation.get("parameters") or operation.get("requestBody"))
        for code in ("422", "500") if takes_input else ("500",):
            response = operation["responses"].get(code)
            assert response is not None, f"{method.upper()} {path} does not document {code}"
            assert response["content"] == {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            }, f"{method.upper()} {path}: {code} is not a problem+json response"


def test_every_post_documents_idempotency_key(schema: dict[str, Any]) -> None:
    posts = [(path, op) for method, path, op in _operations(schema) if method == "post"]
    assert posts
    for path, operation in posts:
        assert "idempotency-key" in _header_names(operation), f"POST {path} does not document Idempotency-Key"


def test_changes_document_if_match(schema: dict[str, Any]) -> None:
    changes = [(m, p, op) for m, p, op in _operations(schema) if m in ("patch", "delete")]
    assert changes
    for method, path, operation in changes:
        has_if_match = "if-match" in _header_names(operation)
        if operation["operationId"] in IF_MATCH_EXEMPT:
            assert not has_if_match, f"{method.upper()} {path} should not ask for If-Match"
        else:
            assert has_if_match, f"{method.upper()} {path} does not document If-Match"
            assert {"412", "428"} <= set(operation["responses"])


def test_bearer_security_scheme(schema: dict[str, Any]) -> None:
    assert schema["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearer"].get("description"),
    }
    for method, path, operation in _operations(schema):
        if path.startswith("/v1/"):
            assert {"bearer": []} in operation.get("security", []), f"{method.upper()} {path} names no bearer auth"


def test_security_says_who_must_authenticate(schema: dict[str, Any]) -> None:
    securities = {(m, p): op["security"] for m, p, op in _operations(schema)}
    # Keyless probes; public reads that a key widens (a bad key is still 401); writes that need one.
    assert securities[("get", "/healthz")] == []
    assert securities[("get", "/v1/agreements")] == [{}, {"bearer": []}]
    assert securities[("get", "/v1/log/checkpoint")] == [{}, {"bearer": []}]
    assert securities[("post", "/v1/agreements")] == [{"bearer": []}]
    assert securities[("get", "/v1/compliance/findings")] == [{"bearer": []}]
    for method, path, operation in _operations(schema):
        required = operation["security"] == [{"bearer": []}]
        # /metrics answers anyone on an allowed network, elsewhere only an admin key (403 for others).
        assert ("403" in operation["responses"]) == (required or path == "/metrics"), f"{method.upper()} {path}"
        assert ("401" in operation["responses"]) == bool(operation["security"]), f"{method.upper()} {path}"


async def test_operations_declared_open_answer_anonymous_callers_and_the_others_401(
    client: httpx2.AsyncClient, schema: dict[str, Any]
) -> None:
    """What the document says, checked against the app: every GET without path ids, anonymously."""
    for method, path, operation in _operations(schema):
        if method != "get" or "{" in path or path.startswith("/v1/organizations"):
            continue
        response = await client.get(path)
        if operation["security"] == [{"bearer": []}]:
            assert response.status_code == 401, f"GET {path}: {response.status_code}"
        else:
            assert response.status_code not in (401, 403), f"GET {path}: {response.status_code}"


def test_if_match_is_declared_required_where_428_is_possible(schema: dict[str, Any]) -> None:
    for method, path, operation in _operations(schema):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "header"}
        if "428" in operation["responses"]:
            assert headers["If-Match"]["required"] is True, f"{method.upper()} {path}"
        assert "If-Match" not in headers or "428" in operation["responses"], f"{method.upper()} {path}"
