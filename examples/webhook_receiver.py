#!/usr/bin/env python3
"""Receive the Party Group Governance Suite's webhooks (Standard Webhooks), standard library only.

    WEBHOOK_SECRET=whsec_... python webhook_receiver.py --port 8080

Every request must carry ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature`` (``v1,<base64>``, possibly several separated by spaces while a
secret is being rotated).  The signature is HMAC-SHA256, keyed with the base64-decoded
part of the ``whsec_`` secret, over the exact bytes ``{webhook-id}.{webhook-timestamp}.{body}``.

- missing headers: 400; a bad signature or a timestamp more than ``--tolerance`` seconds
  (default 300) away from now: 401, nothing processed;
- a ``webhook-id`` already processed (the sender retries with the same id): 204 again,
  not processed twice;
- otherwise the notification is printed as one line and answered 204.

The service treats any 2xx as delivered and retries anything else with back-off, so
answer quickly and do slow work afterwards.
"""
import argparse
import base64
import binascii
import collections
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1024 * 1024


def secret_key(secret):
    """The raw HMAC key of a ``whsec_<base64>`` secret."""
    if not secret.startswith("whsec_"):
        raise ValueError("the secret must start with whsec_")
    return base64.b64decode(secret[len("whsec_"):], validate=True)


def sign(key, msg_id, timestamp, body):
    """``v1,<base64 HMAC-SHA256 of "{msg_id}.{timestamp}.{body}">`` (body as bytes)."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


class Invalid(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


def verify(key, headers, body, tolerance=300, now=None):
    """Raise ``Invalid`` unless the request is signed with ``key`` and recent; returns its webhook-id."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        raise Invalid(400, "missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = int(timestamp)
    except ValueError:
        raise Invalid(401, "webhook-timestamp is not a number") from None
    now = time.time() if now is None else now
    if abs(now - ts) > tolerance:
        raise Invalid(401, "webhook-timestamp outside the tolerance")
    expected = sign(key, msg_id, timestamp, body).split(",", 1)[1].encode()
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        # compare every candidate in constant time
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return msg_id
    raise Invalid(401, "no valid signature")


class Seen:
    """Recently processed webhook ids (bounded, in memory)."""

    def __init__(self, size=10000):
        self.ids = collections.OrderedDict()
        self.size = size
        self.lock = threading.Lock()

    def first_time(self, msg_id):
        with self.lock:
            if msg_id in self.ids:
                return False
            self.ids[msg_id] = True
            if len(self.ids) > self.size:
                self.ids.popitem(last=False)
            return True


def describe(msg_id, payload):
    """One readable line for a notification (the application's real work would go here)."""
    data = payload.get("data") or {}
    event = data.get("event") or {}
    line = (f"{payload.get('type')} webhook-id={msg_id} org={data.get('org_id')} "
            f"source={data.get('source_event_type')} source_event_id={data.get('source_event_id')} "
            f"meeting={data.get('meeting_id')} ref={data.get('ref_id')}")
    if payload.get("type") == "decision_distributed":
        line += (f" decision={event.get('decision_id')} outcome={event.get('outcome')} yes={event.get('yes')} "
                 f"no={event.get('no')} abstain={event.get('abstain')} N={event.get('n')}")
    return line + f" title={json.dumps(data.get('title'), ensure_ascii=False)}"


def make_handler(key, tolerance, seen, path):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if path and self.path.split("?", 1)[0] != path:
                return self.answer(404, "unknown path")
            try:
                length = int(self.headers.get("content-length", "0"))
            except ValueError:
                return self.answer(400, "bad content-length")
            if length > MAX_BODY:
                return self.answer(413, "body too large")
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                msg_id = verify(key, headers, body, tolerance)
            except Invalid as exc:
                print(f"refused status={exc.status} reason={exc} webhook-id={headers.get('webhook-id')}", flush=True)
                return self.answer(exc.status, str(exc))
            if not seen.first_time(msg_id):
                print(f"duplicate webhook-id={msg_id} (already processed)", flush=True)
                return self.answer(204)
            try:
                payload = json.loads(body)
            except ValueError:
                return self.answer(400, "body is not JSON")
            print("verified " + describe(msg_id, payload), flush=True)
            self.answer(204)

        def answer(self, status, reason=None):
            data = json.dumps({"error": reason}).encode() if reason else b""
            self.send_response(status)
            if data:
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080, help="0 picks a free port (printed at start)")
    p.add_argument("--path", default="/webhooks/party-group", help="the path the webhook was registered with")
    p.add_argument("--secret", default=os.environ.get("WEBHOOK_SECRET"),
                   help="the whsec_ secret (default: $WEBHOOK_SECRET; prefer the variable)")
    p.add_argument("--tolerance", type=int, default=300, help="accepted clock difference in seconds (default 300)")
    args = p.parse_args(argv)
    if not args.secret:
        p.error("a secret is needed: set WEBHOOK_SECRET or pass --secret")
    try:
        key = secret_key(args.secret)
    except (ValueError, binascii.Error) as exc:
        p.error(f"secret: {exc}")
    server = ThreadingHTTPServer((args.host, args.port), make_handler(key, args.tolerance, Seen(), args.path))
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}{args.path}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
