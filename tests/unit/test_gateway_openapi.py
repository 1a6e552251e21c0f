"""The gateway's route table, OpenAPI document and request parsing (no broker needed)."""
import json

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.gateway.http import (MAX_BODY_BYTES, ApiEntrypoint, PayloadTooLarge, read_json_object,
                                   response_for_exception)
from services.gateway.openapi import build_spec
from services.gateway.service import GatewayService
from shared.errors import RuleViolation, ServiceUnavailable, ValidationFailed


def registered_routes():
    routes = []
    for name in dir(GatewayService):
        for ext in getattr(getattr(GatewayService, name), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            assert isinstance(ext, ApiEntrypoint), f"{name} uses another http entrypoint"
            routes.append((ext.method, ext.url))
    return routes


def to_openapi(url):
    import re
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", url)


def test_every_registered_route_is_in_the_openapi_document():
    doc = build_spec()
    routes = registered_routes()
    assert len(routes) >= 27
    for method, url in routes:
        assert method.lower() in doc["paths"].get(to_openapi(url), {}), f"{method} {url} missing"
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == {(m, to_openapi(u)) for m, u in routes}
    json.dumps(doc)    # serializable as it is served


def test_document_declares_bearer_security_error_schema_and_request_bodies():
    doc = build_spec()
    assert doc["openapi"].startswith("3.0")
    assert doc["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer",
                                                              "bearerFormat": "HMAC-signed"}
    assert set(doc["components"]["schemas"]["Error"]["properties"]) == {"error"}
    meeting = doc["paths"]["/api/v1/meetings"]["post"]
    assert meeting["security"] == [{"bearer": []}]
    assert meeting["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MeetingBody"}
    body = doc["components"]["schemas"]["MeetingBody"]
    assert "org_id" not in body["properties"] and {"kind", "title", "scheduled_at"} <= set(body["required"])
    assert doc["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    assert doc["paths"]["/api/v1/meetings/{meeting_id}"]["get"]["parameters"][0]["name"] == "meeting_id"
    limit = [p for p in doc["paths"]["/api/v1/records"]["get"]["parameters"] if p["name"] == "limit"][0]
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 200
    assert "422" in meeting["responses"] and meeting["responses"]["422"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/Error"}


def request_with(data, content_type="application/json"):
    env = EnvironBuilder(method="POST", path="/x", data=data, content_type=content_type).get_environ()
    return Request(env, shallow=True)


def test_body_parsing():
    assert read_json_object(request_with(b"")) == {}
    assert read_json_object(request_with('{"title": "议题"}'.encode())) == {"title": "议题"}
    for bad in (b"{oops", b"[1, 2]", b'"text"', b"null", b"\xff\xfe\x00", b"[" * 100000):
        with pytest.raises(ValidationFailed) as err:
            read_json_object(request_with(bad))
        assert err.value.field == "body" and err.value.status == 400
    with pytest.raises(PayloadTooLarge) as err:
        read_json_object(request_with(b" " * (MAX_BODY_BYTES + 1)))
    assert err.value.status == 413


def test_errors_become_json_with_code_field_and_rule():
    r = response_for_exception(RuleViolation("M8: quorum", field="present", rule="M8"))
    assert r.status_code == 422 and r.mimetype == "application/json"
    assert json.loads(r.get_data()) == {"error": {"code": "rule_violation", "message": "M8: quorum",
                                                  "field": "present", "rule": "M8"}}
    r = response_for_exception(ZeroDivisionError("boom"))
    assert r.status_code == 500 and json.loads(r.get_data())["error"]["code"] == "internal_error"
    assert "boom" not in r.get_data(as_text=True)


def test_a_broker_that_times_out_or_refuses_is_a_503_never_a_500():
    """Found by the backup test under load: a login whose RPC could not reach the broker in time
    answered 500. Every broker failure, at the call or anywhere in a request, is a 503."""
    import kombu.exceptions

    from shared.nameko_ext import _TimedProxy

    for raised in (kombu.exceptions.OperationalError("timed out"), ConnectionRefusedError(111, "refused"),
                   TimeoutError("timed out")):
        r = response_for_exception(raised)
        assert r.status_code == 503, raised
        assert json.loads(r.get_data())["error"]["code"] == "service_unavailable"

        class Proxy:
            def roles_of(self, *args):
                raise raised
        with pytest.raises(ServiceUnavailable) as err:
            _TimedProxy(Proxy(), "meetings", 5).roles_of({}, "p1", "org")
        assert "meetings" in err.value.message and err.value.status == 503


def test_every_page_offset_is_bounded_and_documented():
    """Fuzzing found an offset of 10**35 reaching a service's database (5xx): refused at the gateway now."""
    from marshmallow import Schema

    from services.gateway import schemas
    from shared.validation import load
    paged = [v for v in vars(schemas).values()
             if isinstance(v, type) and issubclass(v, Schema) and "offset" in v._declared_fields]
    assert len(paged) >= 5
    for schema in paged:
        with pytest.raises(ValidationFailed) as err:
            load(schema(), {"offset": str(10 ** 35), "meeting_id": "m"})
        assert err.value.field == "offset"
        assert load(schema(), {"offset": str(schemas.MAX_OFFSET)})["offset"] == schemas.MAX_OFFSET
    offset = [p for p in build_spec()["paths"]["/api/v1/records"]["get"]["parameters"] if p["name"] == "offset"][0]
    assert offset["schema"]["maximum"] == schemas.MAX_OFFSET and offset["schema"]["minimum"] == 0
