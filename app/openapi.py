"""Post-processing of the generated OpenAPI document: every error is a documented problem."""

from typing import Any

from app.errors import Problem, ValidationIssue

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

_DESCRIPTIONS = {
    "400": "Malformed request (body that is not JSON, a bad header)",
    "401": "Missing, bad, expired or revoked API key",
    "403": "Authenticated, but this role may not do this",
    "404": "No such resource, or one the caller may not see",
    "406": "Neither application/json nor text/csv is acceptable",
    "409": "Conflicts with the resource's state, a duplicate, or an Idempotency-Key in flight",
    "412": "If-Match does not match the current ETag",
    "413": "Request body too large",
    "415": "Unsupported media type",
    "422": "The request breaks the schema or the domain's rules",
    "428": "If-Match is required",
    "500": "Unexpected failure (logged with the request id)",
}


def _codes(method: str, path: str, operation: dict[str, Any]) -> list[str]:
    codes = ["401", "404", "422", "500"]
    secured = bool(operation.get("security"))
    if secured:
        codes.append("403")
    if method == "get" and "text/csv" in operation.get("responses", {}).get("200", {}).get("content", {}):
        codes.append("406")
    if method in ("post", "patch", "put"):
        codes += ["400", "409", "413", "415"]
    if method in ("patch", "delete") and any(p.get("name") == "If-Match" for p in operation.get("parameters", [])):
        codes += ["409", "412", "428"]
    if path == "/v1/log/checkpoint":
        codes.append("503")  # no signing key configured
    if not path.startswith("/v1/"):
        codes = ["500"] if path == "/healthz" else ["500", "503"]
    return sorted(set(codes))


def add_problem_responses(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components["Problem"].pop("$defs", None)
    components["ValidationIssue"] = ValidationIssue.model_json_schema()
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            for code in _codes(method, path, operation):
                description = _DESCRIPTIONS.get(code, "Service unavailable")
                responses[code] = {
                    "description": description,
                    "content": {"application/problem+json": {"schema": PROBLEM_REF}},
                }
            responses["default"] = {
                "description": "Any other error",
                "content": {"application/problem+json": {"schema": PROBLEM_REF}},
            }
    return schema
