"""Webhooks for integrators (N2): Standard Webhooks signing, target checks, HTTP POST.

Headers: ``webhook-id`` (the delivery id, the same on every retry so a receiver
can de-duplicate), ``webhook-timestamp`` (Unix seconds) and
``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``
keyed with the raw bytes of the ``whsec_<base64>`` secret.

A target's host is resolved and every address checked (no loopback, private,
link-local or otherwise non-public range unless private targets are allowed by
configuration); the request then goes to the checked address, so a DNS answer
that changes between check and connect cannot redirect it.
"""
import base64
import hashlib
import hmac
import http.client
import socket
import time
import urllib.parse

from services.notifications import domain

USER_AGENT = "party-group-notifications/1"


def sign(secret, msg_id, timestamp, body):
    """``v1,<signature>`` of ``body`` (text) for Standard Webhooks."""
    key = domain.secret_bytes(secret)
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode("utf-8"), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def resolve(host, port):
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_target(url, allow_private):
    """N2: refuse a URL whose scheme, host or any resolved address is not allowed.

    Returns (scheme, host, port, addresses)."""
    scheme, host, port = domain.parse_webhook_url(url)
    addresses = resolve(host, port)
    domain.check_addresses(addresses, allow_private)
    return scheme, host, port, addresses


class TargetRefused(Exception):
    """The target no longer passes the N2 checks (e.g. its host now resolves to a private address)."""


def post(url, body, secret, msg_id, *, allow_private, timeout):
    """POST ``body`` signed; returns the HTTP status.  Raises TargetRefused or a network error."""
    from shared.errors import ValidationFailed
    try:
        scheme, host, port, addresses = check_target(url, allow_private)
    except ValidationFailed as exc:
        raise TargetRefused(exc.message) from None
    parts = urllib.parse.urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    timestamp = str(int(time.time()))
    data = body.encode("utf-8")
    headers = {
        "content-type": "application/json; charset=utf-8",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = cls(host, port, timeout=timeout)
    pinned = addresses[0]
    # connect to the address that was checked; Host header and TLS name stay the URL's host
    conn._create_connection = lambda _addr, t, source=None: socket.create_connection((pinned, port), t, source)
    try:
        conn.request("POST", path, body=data, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return response.status
    finally:
        conn.close()
