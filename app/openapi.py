"""Post-processing of the generated OpenAPI document, so that it tells the truth: who must
authenticate, which headers are required, and the problem responses each operation can give."""

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from fastapi import routing
from fastapi.dependencies.models import Dependant
from starlette.routing import BaseRoute

from app.auth.dependencies import optional_principal, required_principal
from app.errors import Problem, ValidationIssue

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
BEARER = "bearer"

_DESCRIPTIONS = {
    "400": "Malformed request (body that is not JSON, a bad header)",
    "401": "Missing, bad, expired or revoked API key",
    "403": "Authenticated, but this role may not do this",
    "404": "No such resource, or one the caller may not see",
    "406": "None of application/json, text/csv and the XLSX media type is acceptable",
    "408": "The body arrived too slowly, or stalled",
    "409": "Conflicts with the resource's state, a duplicate, or an Idempotency-Key in flight",
    "412": "If-Match does not match the current ETag",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "The request breaks the schema or the domain's rules",
    "428": "If-Match is required",
    "500": "Unexpected failure (logged with the request id)",
    "503": "Service unavailable",
}


class Access(StrEnum):
    """What an operation asks of its caller, read from its dependencies (never declared by hand)."""

    public = "public"  # no key is read at all
    optional = "optional"  # anonymous callers are served; a key widens what is seen (a bad one is 401)
    required = "required"  # 401 without a valid key


def _calls(dependant: Dependant) -> Iterable[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def access_of(dependant: Dependant) -> Access:
    calls = set(_calls(dependant))
    if required_principal in calls:
        return Access.required
    if optional_principal in calls:
        return Access.optional
    return Access.public


def _security(access: Access) -> list[dict[str, list[str]]]:
    # `{}` makes a requirement optional (OpenAPI 3.1, Security Requirement Object).
    bearer: dict[str, list[str]] = {BEARER: []}
    if access is Access.public:
        return []
    return [{}, bearer] if access is Access.optional else [bearer]


def _requires_if_match(operation: dict[str, Any]) -> bool:
    return any(p.get("in") == "header" and p.get("name") == "If-Match" for p in operation.get("parameters", []))


def _codes(method: str, path: str, operation: dict[str, Any], access: Access) -> list[str]:
    codes = ["500"]
    if access is not Access.public:
        codes.append("401")  # a bad key is refused even where none is needed
    if access is Access.required:
        codes.append("403")
    if "{" in path:
        codes.append("404")
    if operation.get("parameters") or "requestBody" in operation:
        codes.append("422")
    if _serves_csv(method, operation):
        codes.append("406")
    if "requestBody" in operation:
        codes += ["400", "408", "413", "415"]
    if method in ("post", "patch", "put", "delete") and path.startswith("/v1/"):
        codes.append("409")
    if _requires_if_match(operation):
        codes += ["412", "428"]
    if path == "/metrics":
        codes += ["403", "404"]  # from outside PACTA_METRICS_ALLOW: a key but not an admin's; no key
    if path in ("/v1/log/checkpoint", "/v1/exports/datapackage.zip", "/readyz"):
        codes.append("503")  # no signing key (no checkpoint to sign); the schema is not at the latest migration
    return sorted(set(codes))


BOM_PARAMETER = {
    "name": "bom",
    "in": "query",
    "required": False,
    "schema": {"type": "boolean", "default": False, "title": "Bom"},
    "description": "With `Accept: text/csv`: start the file with a UTF-8 byte-order mark (for Excel).",
}


def _serves_csv(method: str, operation: dict[str, Any]) -> bool:
    return method == "get" and "text/csv" in operation.get("responses", {}).get("200", {}).get("content", {})


def _declare_bom(method: str, operation: dict[str, Any]) -> None:
    """Read by the list's file response (app.http.csv.wants_bom), not by a route parameter."""
    if _serves_csv(method, operation):
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == "bom" for p in parameters):
            parameters.append(BOM_PARAMETER)


def _declare_if_match_required(operation: dict[str, Any]) -> None:
    """The handler answers 428 without it (not FastAPI's 422), so the parameter is optional in
    code; to clients it is required, and the document says so."""
    for parameter in operation.get("parameters", []):
        if parameter.get("in") == "header" and parameter.get("name") == "If-Match":
            parameter["required"] = True
            parameter["schema"] = {"type": "string", "title": "If-Match"}


def add_problem_responses(schema: dict[str, Any], routes: Iterable[BaseRoute] = ()) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["Problem"].pop("$defs", None)
    components["ValidationIssue"] = ValidationIssue.model_json_schema()
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    access = {
        (context.path_format, method.lower()): access_of(context.dependant)
        for context in routing.iter_route_contexts(list(routes))
        if isinstance(context.original_route, routing.APIRoute)
        for method in context.methods or ()
    }
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            found = access.get((path, method))
            if found is None:  # no route given: keep what FastAPI derived
                found = Access.required if operation.get("security") else Access.public
            operation["security"] = _security(found)
            _declare_if_match_required(operation)
            _declare_bom(method, operation)
            responses = operation.setdefault("responses", {})
            codes = _codes(method, path, operation, found)
            if "422" in responses:  # FastAPI's own, pointing at the HTTPValidationError removed above
                codes = sorted({*codes, "422"})
            for code in codes:
                responses[code] = {
                    "description": _DESCRIPTIONS[code],
                    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                }
            responses["default"] = {
                "description": "Any other error",
                "content": {"application/problem+json": {"schema": PROBLEM_REF}},
            }
    return schema
