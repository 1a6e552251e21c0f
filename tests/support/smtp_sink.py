"""A real SMTP server on loopback (aiosmtpd) that keeps every message it accepts.

Runs aiosmtpd's asyncio loop in its controller thread; under eventlet's
monkey-patching that thread is a green thread and the loop's sockets are
cooperative, so the sink and the service under test share one process.
``stop()`` then ``start()`` on the same port simulates a mail server outage.
"""
import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Received:
    def __init__(self, mail_from, rcpt_tos, raw):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.raw = raw
        self.message = email.message_from_bytes(raw, policy=email.policy.default)

    @property
    def subject(self):
        return str(self.message["Subject"])          # decoded from RFC 2047

    @property
    def message_id(self):
        return str(self.message["Message-ID"])

    def body(self, subtype):
        part = self.message.get_body(preferencelist=(subtype,))
        return None if part is None else part.get_content()


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        with self.sink.lock:
            self.sink.messages.append(Received(envelope.mail_from, envelope.rcpt_tos, envelope.original_content
                                               or envelope.content))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.messages = []
        self.lock = threading.Lock()
        self._controller = None

    def start(self):
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address):
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
