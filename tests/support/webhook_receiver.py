"""A real HTTP receiver on loopback for webhook tests (stdlib ``http.server`` in a thread).

It checks every request's Standard Webhooks signature itself (HMAC-SHA256 over
``"{webhook-id}.{webhook-timestamp}.{body}"`` keyed with the base64-decoded part
of the ``whsec_`` secret), answers 500 to the first ``fail_first`` attempts of
each webhook-id and 204 afterwards, and records every request.
"""
import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret, headers, body):
    """True when one of the ``v1,`` signatures matches (independent of the service's code)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in headers.get("webhook-signature", "").split():
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(signature, expected):
            return True
    return False


class WebhookReceiver:
    def __init__(self, fail_first=0):
        self.fail_first = fail_first
        self.secret = None           # set once the webhook is registered
        self.requests = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    seen = sum(1 for r in receiver.requests if r["id"] == headers.get("webhook-id"))
                    status = 500 if seen < receiver.fail_first else 204
                    receiver.requests.append({
                        "id": headers.get("webhook-id"), "timestamp": headers.get("webhook-timestamp"),
                        "path": self.path, "headers": headers, "body": body, "status": status,
                        "signature_ok": receiver.secret is not None and verify(receiver.secret, headers, body),
                    })
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/party"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def successes(self):
        with self.lock:
            return [r for r in self.requests if r["status"] < 300]

    def payloads(self):
        return [json.loads(r["body"]) for r in self.successes()]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
