"""Delivery building blocks (N2): Standard Webhooks signatures, webhook target checks,
the e-mail message, the sender's settings.  No network beyond resolving names."""
import email
import email.policy

import pytest

from services.notifications import domain, mailer, sender, webhooks
from shared.actor import Actor
from shared.errors import Forbidden, ValidationFailed
from tests.support.roster import actor
from tests.support.webhook_receiver import verify


def test_n2_signature_matches_the_published_standard_webhooks_vector():
    assert webhooks.sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                         '{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_n2_signature_covers_id_timestamp_and_body():
    secret = domain.new_secret()
    headers = {"webhook-id": "d-1", "webhook-timestamp": "1700000000",
               "webhook-signature": webhooks.sign(secret, "d-1", "1700000000", '{"a":"会议"}')}
    assert verify(secret, headers, '{"a":"会议"}'.encode())
    assert not verify(secret, headers, '{"a":"会议 "}'.encode())
    assert not verify(secret, {**headers, "webhook-id": "d-2"}, '{"a":"会议"}'.encode())
    assert not verify(domain.new_secret(), headers, '{"a":"会议"}'.encode())


def test_n2_secrets_are_whsec_base64_of_enough_bytes():
    secret = domain.new_secret()
    assert secret.startswith("whsec_") and len(domain.secret_bytes(secret)) == 24
    assert secret != domain.new_secret()
    for bad in ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="):
        with pytest.raises(ValidationFailed) as err:
            domain.secret_bytes(bad)
        assert err.value.field == "secret" and err.value.rule == "N2"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook", "http://[::1]/hook", "http://127.1/hook",
    "http://10.1.2.3/hook", "http://172.16.0.9/hook", "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/hook", "http://[fe80::1]/hook",
    "http://[::ffff:10.0.0.1]/hook", "http://0.0.0.0/hook", "http://224.0.0.1/hook",
])
def test_n2_loopback_private_and_link_local_targets_are_refused(url):
    with pytest.raises(ValidationFailed) as err:
        webhooks.check_target(url, allow_private=False)
    assert err.value.field == "url" and err.value.rule == "N2"


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/x", "file:///etc/passwd", "gopher://93.184.216.34/",
                                 "javascript:alert(1)", "http:///nohost", "http://user:pw@93.184.216.34/",
                                 "http://93.184.216.34:99999/", "http://93.184.216.34/a b", 42])
def test_n2_non_http_or_malformed_urls_are_refused(url):
    with pytest.raises(ValidationFailed) as err:
        webhooks.check_target(url, allow_private=False)
    assert err.value.field == "url" and err.value.rule == "N2"


def test_n2_public_targets_pass_and_private_ones_only_when_configured():
    assert webhooks.check_target("https://93.184.216.34/hook", allow_private=False)[3] == ["93.184.216.34"]
    assert webhooks.check_target("http://127.0.0.1:8080/hook", allow_private=True)[1] == "127.0.0.1"
    assert webhooks.check_target("http://10.1.2.3/hook", allow_private=True)
    with pytest.raises(ValidationFailed):        # never a non-host address, even when allowed
        webhooks.check_target("http://0.0.0.0/hook", allow_private=True)


def test_n2_a_name_resolving_to_any_private_address_is_refused():
    with pytest.raises(ValidationFailed) as err:
        domain.check_addresses(["93.184.216.34", "10.0.0.7"], allow_private=False)
    assert "10.0.0.7" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        domain.check_addresses([], allow_private=False)
    assert err.value.field == "url"


def test_n2_webhooks_are_managed_by_an_administrator_or_the_office_of_the_organization():
    office = Actor.from_dict(actor("o1", "org-a", "office"))
    assert domain.check_webhook_rights(office, "org-a") == "org-a"
    with pytest.raises(Forbidden):
        domain.check_webhook_rights(office, "org-b")
    with pytest.raises(Forbidden) as err:
        domain.check_webhook_rights(Actor.from_dict(actor("p1", "org-a", "secretary")), "org-a")
    assert err.value.rule == "N2"
    admin = Actor.from_dict(actor("admin", None, "admin"))
    assert domain.check_webhook_rights(admin, "org-b") == "org-b"
    with pytest.raises(ValidationFailed) as err:
        domain.check_webhook_rights(admin, None)
    assert err.value.field == "org_id"
    with pytest.raises(ValidationFailed) as err:
        domain.check_event_types(["meeting_notice", "meeting_cancelled"])
    assert err.value.field == "event_types.1" and err.value.rule == "N2"


def test_n2_email_is_multipart_utf8_with_an_rfc2047_subject_and_a_delivery_message_id():
    msg = mailer.build_message("党组通知 <notify@example.org>", "p1@example.org", "异议截止提醒：党组会议",
                               "会议：党组会议", "<p>会议：党组会议</p>",
                               mailer.message_id("0b7f-delivery", "党组通知 <notify@example.org>"))
    raw = msg.as_bytes()
    raw.decode("ascii")                                   # 7-bit clean on the wire
    assert b"=?utf-8?" in raw.split(b"\r\n\r\n", 1)[0]    # encoded words in the headers
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == "异议截止提醒：党组会议"
    assert parsed["Message-ID"] == "<0b7f-delivery@example.org>"
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().strip() == "会议：党组会议"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>会议：党组会议</p>"
    assert parsed.get_body(("plain",)).get_content_charset() == "utf-8"


def test_n2_sender_settings_are_checked_at_start():
    cfg = sender.SenderConfig.from_config({"SMTP_HOST": "mail.example.org", "SMTP_TLS": "starttls"}, environ={})
    assert (cfg.smtp.port, cfg.smtp.tls, cfg.allow_private) == (587, "starttls", False)
    assert sender.SenderConfig.from_config({}, environ={}).smtp is None
    assert sender.SenderConfig.from_config({}, environ={"SMTP_HOST": "m", "SMTP_TLS": "ssl"}).smtp.port == 465
    assert sender.SenderConfig.from_config({"WEBHOOK_ALLOW_PRIVATE": "1"}, environ={}).allow_private
    with pytest.raises(ValueError, match="SMTP_TLS"):
        sender.SenderConfig.from_config({"SMTP_HOST": "m", "SMTP_TLS": "tls1.0"}, environ={})
    with pytest.raises(ValueError, match="DELIVERY_MAX_ATTEMPTS"):
        sender.SenderConfig.from_config({"DELIVERY_MAX_ATTEMPTS": "many"}, environ={})
    with pytest.raises(ValueError, match="DELIVERY_LEASE_SECONDS"):
        sender.SenderConfig.from_config({"DELIVERY_LEASE_SECONDS": 5, "WEBHOOK_TIMEOUT_SECONDS": 10}, environ={})
