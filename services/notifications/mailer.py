"""E-mail over SMTP (N2): multipart plain text + HTML, UTF-8, RFC 2047 subjects.

The Message-ID is derived from the delivery id, so if the service stops exactly
between the SMTP server's acceptance and the "sent" mark, the one re-sent copy
carries the same Message-ID and can be recognised as a duplicate.
"""
import email.policy
import email.utils
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

TLS_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying cannot help."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    tls: str = "none"
    username: str | None = None
    password: str | None = None
    sender: str = "notifications@localhost"
    timeout: float = 10.0


def message_id(delivery_id, sender):
    """``<delivery-id@sender-domain>``: one Message-ID per delivery, the same on every attempt."""
    address = email.utils.parseaddr(sender)[1]
    domain = address.rpartition("@")[2] or "localhost"
    return f"<{delivery_id}@{domain}>"


def build_message(sender, to, subject, text, html, msg_id):
    """A multipart/alternative message; non-ASCII headers are RFC 2047 encoded by the policy."""
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(usegmt=True)
    msg["Message-ID"] = msg_id
    msg["Auto-Submitted"] = "auto-generated"
    # base64 keeps the UTF-8 bodies 7-bit clean whatever the server supports
    msg.set_content(text, subtype="plain", charset="utf-8", cte="base64")
    msg.add_alternative(html, subtype="html", charset="utf-8", cte="base64")
    return msg


def send(config, msg):
    """Send one message; returns the server's reply code. Raises PermanentFailure for a
    refusal that retrying cannot fix, any other exception for a transient fault."""
    context = ssl.create_default_context()
    if config.tls == "ssl":
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    try:
        client.ehlo()
        if config.tls == "starttls":
            client.starttls(context=context)
            client.ehlo()
        if config.username:
            client.login(config.username, config.password or "")
        try:
            client.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(f"recipient refused: {exc.recipients}", codes[0]) from None
            raise
        except smtplib.SMTPDataError as exc:
            if exc.smtp_code >= 500:
                raise PermanentFailure(f"message refused: {exc.smtp_code} {exc.smtp_error!r}",
                                       exc.smtp_code) from None
            raise
        return 250
    finally:
        try:
            client.quit()
        except Exception:   # the connection may already be gone
            client.close()
