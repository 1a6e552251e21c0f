"""Issue 17, defect 5 (N2): a webhook target is a global address, checked again at send time,
and the request goes to the very address that was checked (no DNS rebinding)."""
import http.server
import threading

import pytest

from services.notifications import domain, webhooks
from shared.errors import ValidationFailed

# every one of these was accepted before (the issue's list first)
REFUSED = [
    "64:ff9b::7f00:1",          # NAT64 well-known prefix embedding 127.0.0.1
    "64:ff9b:1::a9fe:a9fe",     # NAT64 local-use prefix (RFC 8215) embedding 169.254.169.254
    "2002:7f00:1::",            # 6to4 of 127.0.0.1
    "::7f00:1",                 # IPv4-compatible 127.0.0.1
    "::ffff:0:7f00:1",          # IPv4-translated (SIIT) 127.0.0.1
    "fec0::1",                  # site-local
    "64:ff9b::a00:1",           # NAT64 of 10.0.0.1
    "2002:5db8:d822::1",        # 6to4 (deprecated, RFC 7526) even of a public address
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",    # Teredo
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "100::1", "2001:db8::1", "3fff::1",
    "2001:10::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.1.2.3",
    "127.0.0.1", "10.0.0.8", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "0.1.2.3", "192.0.0.8", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "192.88.99.1",
    "224.0.0.1", "240.0.0.1", "255.255.255.255",
]
ALLOWED = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2001:4860:4860::8888",
           "::ffff:93.184.216.34", "64:ff9b::5db8:d822"]


@pytest.mark.parametrize("address", REFUSED)
def test_every_non_global_address_is_refused(address):
    assert domain.address_refusal(address, allow_private=False), address
    with pytest.raises(ValidationFailed) as info:
        domain.check_addresses(["93.184.216.34", address], allow_private=False)
    assert info.value.rule == "N2" and info.value.field == "url"


@pytest.mark.parametrize("address", ALLOWED)
def test_global_addresses_pass(address):
    assert domain.address_refusal(address, allow_private=False) is None


@pytest.mark.parametrize("literal", ["[64:ff9b::7f00:1]", "[64:ff9b:1::a9fe:a9fe]", "[2002:7f00:1::]",
                                     "[::7f00:1]", "[::ffff:0:7f00:1]", "[fec0::1]"])
def test_the_issues_urls_are_refused_when_registered(literal):
    with pytest.raises(ValidationFailed) as info:
        webhooks.check_target(f"http://{literal}/hook", allow_private=False)
    assert info.value.rule == "N2"


def test_embedded_ipv4_names_the_hidden_address():
    assert "127.0.0.1" in domain.address_refusal("64:ff9b::7f00:1", allow_private=False)
    assert "127.0.0.1" in domain.address_refusal("2002:7f00:1::", allow_private=False)
    assert "169.254.169.254" in domain.address_refusal("64:ff9b:1::a9fe:a9fe", allow_private=False)


class _Hook(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_POST(self):
        self.rfile.read(int(self.headers["content-length"]))
        _Hook.seen.append((self.server.server_address[0], self.headers["host"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_target_is_resolved_again_at_send_time_and_the_checked_address_is_used(monkeypatch):
    """A name that resolved to a public address when registered and to a private one when sent
    is refused at send time; otherwise the connection goes to the address that was checked,
    whatever a second resolution would say (the Host header keeps the name)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    answers = {"hook.example": ["93.184.216.34"]}
    monkeypatch.setattr(webhooks, "resolve", lambda host, p: list(answers[host]))
    webhooks.check_target(f"http://hook.example:{port}/x", allow_private=False)        # registered
    answers["hook.example"] = ["127.0.0.1"]                                              # DNS rebinding
    with pytest.raises(webhooks.TargetRefused):
        webhooks.post(f"http://hook.example:{port}/x", "{}", domain.new_secret(), "d-1", allow_private=False,
                      timeout=2)
    assert _Hook.seen == []
    # allowed (a test deployment allows private targets): the connection goes to the checked address,
    # even though the system resolver knows no "hook.example"
    assert webhooks.post(f"http://hook.example:{port}/x", "{}", domain.new_secret(), "d-2", allow_private=True,
                         timeout=2) == 204
    assert _Hook.seen == [("127.0.0.1", f"hook.example:{port}")]
    server.shutdown()


def test_an_enrolment_code_is_never_a_webhook_kind():
    """Issue 17: the one-time code goes to its person alone, never to an integrator."""
    assert domain.ENROLMENT_CODE not in domain.KINDS
    with pytest.raises(ValidationFailed):
        domain.check_event_types([domain.ENROLMENT_CODE])
