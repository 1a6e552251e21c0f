"""The gateway's HTTP plumbing: one ``route`` decorator for every endpoint.

A route declares its method, URL, request schema (body and/or query), the roles it
needs and its success status; the decorator does the rest the same way everywhere:

    size check (413) -> authenticate (401) -> role check (403) -> parse JSON (400)
    -> validate with marshmallow (400 naming the field) -> handler -> JSON response

Every write (POST, PUT, PATCH, DELETE) carries an idempotency key to the services: the
client's ``Idempotency-Key`` header, else one made for the request; it travels in the
worker context (not in the RPC's arguments) and is echoed in the answer.  A repeat with
the same key answers the first result (``shared.db.KeyedWork``).

Errors are answered as ``{"error": {"code", "message", "field", "rule"}}``: a
``DomainError`` with its own status, an unknown route 404, a wrong method 405, and
anything else 500 (logged).  ``ROUTES`` lists every route for the OpenAPI document.
"""
import datetime as dt
import decimal
import json
import logging
import uuid
from dataclasses import dataclass, field

from nameko.exceptions import UnknownService
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from shared.actor import Actor
from shared.errors import DomainError, ServiceUnavailable, ValidationFailed
from shared.nameko_ext import BROKER_ERRORS
from shared.nameko_ext import IDEMPOTENCY_KEY
from shared.validation import load

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024       # 1 MiB


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


# ---------------------------------------------------------------- JSON responses

def _json_default(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, decimal.Decimal)):
        return str(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_response(payload, status=200, headers=None):
    body = json.dumps(payload, ensure_ascii=False, default=_json_default)
    return Response(body, status=status, headers=headers, content_type="application/json; charset=utf-8")


def error_response(status, code, message, field=None, rule=None, headers=None):
    return json_response({"error": {"code": code, "message": message, "field": field, "rule": rule}},
                         status=status, headers=headers)


def response_for_exception(exc):
    """The one mapping from an exception to an HTTP answer."""
    if isinstance(exc, BROKER_ERRORS):     # the broker unreachable or slow to answer: 503, retry
        exc = ServiceUnavailable("the message broker cannot be reached now; try again", field=None, rule=None)
    if isinstance(exc, UnknownService):
        exc = ServiceUnavailable(f"the {exc.args[0] if exc.args else 'requested'} service is not running",
                                 field=None, rule=None)
    if isinstance(exc, DomainError):
        headers = {}
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        return json_response({"error": exc.to_dict()}, status=exc.status, headers=headers or None)
    if isinstance(exc, HTTPException):
        return _http_exception_response(exc)
    log.error("unexpected error answering a request: %r", exc, exc_info=exc)
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")


def _http_exception_response(exc):
    headers = None
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers = {"Allow": ", ".join(sorted(exc.valid_methods))}
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(exc.code, "http_error")
    message = {404: "no such route", 405: "this route does not accept that method"}.get(exc.code, exc.description)
    return error_response(exc.code or 500, code, message, field=None, rule=None, headers=headers)


# ---------------------------------------------------------------- web server (JSON 404/405)

class JsonWsgiApp(WsgiApp):
    def __call__(self, environ, start_response):
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
            request.path_values = values
            rv = provider.handle_request(request)
        except HTTPException as exc:
            rv = _http_exception_response(exc)
        except Exception as exc:     # never an HTML traceback
            rv = response_for_exception(exc)
        return rv(environ, start_response)


WRITE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 200


def idempotency_key(request):
    """The write's key: the client's ``Idempotency-Key`` (1–200 visible ASCII characters),
    else a new one; None for a read.  A bad key is a 400 naming the header."""
    if request.method not in WRITE_METHODS:
        return None
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return str(uuid.uuid4())
    if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY or not all("!" <= c <= "~" for c in key):
        raise ValidationFailed(f"{IDEMPOTENCY_HEADER}: 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters "
                               "(a UUID is a good key)", field=IDEMPOTENCY_HEADER, rule="IDEMPOTENCY")
    return key


class JsonWebServer(WebServer):
    def get_wsgi_app(self):
        return JsonWsgiApp(self)

    def context_data_from_headers(self, request):
        key = idempotency_key(request)
        request.idempotency_key = key
        return {IDEMPOTENCY_KEY: key} if key else {}


# ---------------------------------------------------------------- the entrypoint

class ApiEntrypoint(HttpRequestHandler):
    """nameko's http entrypoint answering JSON for results and errors alike."""
    server = JsonWebServer()

    def __init__(self, method, url, max_body=MAX_BODY_BYTES, **kwargs):
        kwargs.setdefault("expected_exceptions", (DomainError, UnknownService))
        self.max_body = max_body
        super().__init__(method, url, **kwargs)

    def handle_request(self, request):
        # refuse an oversized body before anything reads it
        if request.content_length is not None and request.content_length > self.max_body:
            return response_for_exception(PayloadTooLarge(
                f"the request body is larger than {self.max_body} bytes", field="body", rule=None))
        nul = nul_in_url(request)
        if nul:
            return response_for_exception(ValidationFailed("a NUL character is not allowed", field=nul, rule=None))
        response = super().handle_request(request)
        key = getattr(request, "idempotency_key", None)
        if key:
            response.headers[IDEMPOTENCY_HEADER] = key
        return response

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, payload = result
        return json_response(payload, status=status)

    def response_from_exception(self, exc):
        return response_for_exception(exc)


# ---------------------------------------------------------------- request parsing

def read_json_object(request, limit=MAX_BODY_BYTES):
    """The request body as a dict: ``{}`` when empty; 400 when not a JSON object; 413 when too big."""
    request.shallow = False
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the request body is larger than {limit} bytes", field="body")
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ValidationFailed(f"the request body is not valid JSON: {exc}", field="body") from None
    if not isinstance(value, dict):
        raise ValidationFailed("the request body must be a JSON object", field="body")
    return value     # text checks (NUL, surrogates, controls) name the field: shared.validation.load


def nul_in_url(request):
    """The path or query parameter holding a NUL character (``%00``), else None."""
    if "\x00" in request.path:
        return "path"
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


@dataclass
class RouteSpec:
    method: str
    url: str
    name: str
    summary: str
    tag: str
    status: int = 200
    auth: bool = True
    roles: tuple = ()
    rule: str = "AUTH"
    body: type | None = None
    query: type | None = None
    content_type: str = "application/json"
    responses: dict = field(default_factory=dict)

    @property
    def idempotent(self):
        """A write: it takes an ``Idempotency-Key`` (the OpenAPI documents the header)."""
        return self.method in WRITE_METHODS

    @property
    def openapi_path(self):
        import re
        return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", self.url)

    @property
    def path_params(self):
        import re
        return re.findall(r"<(?:[^:>]+:)?([^>]+)>", self.url)


ROUTES = []


def route(method, url, *, summary, tag="api", status=200, auth=True, roles=(), rule="AUTH",
          body=None, query=None, content_type="application/json", max_body=MAX_BODY_BYTES):
    """Declare an HTTP route of the gateway (see the module docstring).

    The handler is called as ``fn(self, actor, **path_values, [body=...], [query=...])``
    (``actor`` is ``None`` when ``auth=False``) and returns a JSON-able value (sent with
    ``status``) or a werkzeug ``Response``.
    """
    def decorate(fn):
        spec = RouteSpec(method=method, url=url, name=fn.__name__, summary=summary, tag=tag, status=status,
                         auth=auth, roles=tuple(roles), rule=rule, body=body, query=query,
                         content_type=content_type)
        ROUTES.append(spec)
        # made once: a marshmallow schema holds no per-request state, and building one per
        # request was a measurable share of the gateway's CPU (docs/performance.md)
        body_schema = body() if body is not None else None
        query_schema = query() if query is not None else None

        def endpoint(self, request, **path_values):
            actor = self.sessions.actor_from(request.headers.get("Authorization"), request.method) if auth else None
            if roles:
                actor.require(*roles, rule=rule, action=summary)
            kwargs = dict(path_values)
            # validated, with defaults, and dumped back to plain JSON values for the RPC
            if body_schema is not None:
                kwargs["body"] = body_schema.dump(load(body_schema, read_json_object(request, max_body)))
            if query_schema is not None:
                kwargs["query"] = query_schema.dump(load(query_schema, request.args.to_dict(flat=True)))
            result = fn(self, actor, **kwargs)
            if isinstance(result, Response):
                return result
            return status, result

        endpoint.__name__ = fn.__name__
        endpoint.__qualname__ = fn.__qualname__
        endpoint.__doc__ = fn.__doc__
        endpoint.route_spec = spec
        return ApiEntrypoint.decorator(method, url, max_body=max_body)(endpoint)
    return decorate


def as_actor(claims):
    return Actor.from_dict({"person_id": claims.get("person_id"), "org_id": claims.get("org_id"),
                            "roles": claims.get("roles") or []})
