"""The OpenAPI 3 document of the gateway, built from the routes and their marshmallow schemas."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from services.gateway import schemas
from services.gateway.http import IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY, ROUTES

ERROR_STATUSES = {
    "400": "invalid input (the field is named)",
    "401": "not logged in, or the session expired",
    "403": "the caller's role does not allow this",
    "404": "no such resource in the caller's organization",
    "409": "conflict with the current state, or an Idempotency-Key used before for a different request",
    "413": "request body larger than 1 MiB",
    "422": "a work rule refuses it (the rule is named)",
    "503": "a service is not running",
    "504": "a service did not answer in time",
}


IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": IDEMPOTENCY_HEADER, "required": False,
    "description": ("makes the write safe to send again: a repeat with the same key (same caller, same "
                    "request) within 24 hours is answered the first result and carried out once; the same "
                    "key with another request is refused (409). Without it the gateway makes one; the "
                    "answer's Idempotency-Key header gives the key used. Use a random UUID: the stored "
                    "answer is sealed under the key."),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY, "pattern": "^[!-~]+$"},
}


def build_spec(routes=None):
    spec = APISpec(
        title="党组工作规则系统 — Party Group Governance Suite API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "JSON under /api/v1. Errors: {\"error\": {code, message, field, rule}}."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "HMAC-signed"})
    spec.components.schema("Error", schema=schemas.Error)
    paths = {}
    for r in routes if routes is not None else ROUTES:
        op = {
            "operationId": r.name,
            "summary": r.summary,
            "tags": [r.tag],
            "responses": {str(r.status): {"description": "success"}},
        }
        if r.content_type == "application/json":
            op["responses"][str(r.status)]["content"] = {"application/json": {"schema": {"type": "object"}}}
        else:
            op["responses"][str(r.status)]["content"] = {r.content_type: {"schema": {"type": "string"}}}
        if r.name == "login":
            op["responses"]["200"]["content"]["application/json"]["schema"] = schemas.LoginOut
            op["responses"]["429"] = {"description": "account locked after repeated failures (Retry-After)",
                                      "content": {"application/json": {"schema": "Error"}}}
        if r.name == "health":
            op["responses"]["200"]["content"]["application/json"]["schema"] = schemas.HealthOut
        params = [{"in": "path", "name": p, "required": True, "schema": {"type": "string"}} for p in r.path_params]
        if r.query is not None:
            params.append({"in": "query", "schema": r.query})
        if r.idempotent:
            params.append(IDEMPOTENCY_PARAMETER)
        if params:
            op["parameters"] = params
        if r.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": r.body}}}
        if r.auth:
            op["security"] = [{"bearer": []}]
            if r.roles:
                op["description"] = "roles: " + ", ".join(r.roles)
        else:
            op["security"] = []
        for status, text in ERROR_STATUSES.items():
            if status in ("401", "403") and not r.auth:
                continue
            op["responses"].setdefault(status, {"description": text,
                                                "content": {"application/json": {"schema": "Error"}}})
        paths.setdefault(r.openapi_path, {})[r.method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()
