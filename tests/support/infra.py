"""Where the tests get a real RabbitMQ and PostgreSQL from.

Order: the servers named by ``AMQP_URI`` / ``DATABASE_URL``; otherwise
testcontainers when a Docker engine answers; otherwise the conventional local
servers (127.0.0.1:5672 guest/guest, 127.0.0.1:5432 postgres) if they answer;
otherwise the run fails with a message saying how to provide them — never a
silent skip.

Each run isolates itself: its own RabbitMQ vhost and its own databases, all
removed afterwards, so two runs at once never see each other's messages.
"""
import os
import shutil
import subprocess
import urllib.parse
import uuid

import requests
import sqlalchemy as sa

from shared.db import normalize_url

HOW_TO = (
    "{what} is needed for the integration tests and none was found. Provide one of:\n"
    "  - {env}=... pointing at a running server ({example}),\n"
    "  - a Docker engine, so testcontainers can start one, or\n"
    "  - a local server on the default port ({example})."
)
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _reachable(host, port):
    import socket
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


class InfraUnavailable(RuntimeError):
    pass


def _docker_available():
    try:
        import docker
        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


class Broker:
    """A RabbitMQ server and the vhosts this run makes on it."""

    def __init__(self):
        self._container = None
        uri = os.environ.get("AMQP_URI")
        if not uri and not _docker_available():
            if not _reachable("127.0.0.1", 5672):
                raise InfraUnavailable(HOW_TO.format(what="RabbitMQ", env="AMQP_URI", example=LOCAL_AMQP))
            uri = LOCAL_AMQP
        if not uri:
            from testcontainers.rabbitmq import RabbitMqContainer
            self._container = RabbitMqContainer("rabbitmq:3.13-management").start()
            host = self._container.get_container_host_ip()
            port = self._container.get_exposed_port(5672)
            uri = f"amqp://guest:guest@{host}:{port}/"
            self.management = f"http://{host}:{self._container.get_exposed_port(15672)}"
        else:
            parts = urllib.parse.urlsplit(uri)
            self.management = os.environ.get("RABBITMQ_MANAGEMENT_URL",
                                              f"http://{parts.hostname or 'localhost'}:15672")
        self.base_uri = uri
        parts = urllib.parse.urlsplit(uri)
        self.user = urllib.parse.unquote(parts.username or "guest")
        self.password = urllib.parse.unquote(parts.password or "guest")
        self.vhosts = []

    def _api(self, method, path):
        return requests.request(method, self.management + path, auth=(self.user, self.password), timeout=10)

    def create_vhost(self, name):
        try:
            r = self._api("PUT", f"/api/vhosts/{urllib.parse.quote(name, safe='')}")
            r.raise_for_status()
            r = self._api("PUT", f"/api/permissions/{urllib.parse.quote(name, safe='')}/{self.user}")
            if r.status_code >= 400:
                r = requests.put(self.management + f"/api/permissions/{urllib.parse.quote(name, safe='')}/{self.user}",
                                 json={"configure": ".*", "write": ".*", "read": ".*"},
                                 auth=(self.user, self.password), timeout=10)
                r.raise_for_status()
        except requests.RequestException:
            ctl = shutil.which("rabbitmqctl")
            if not ctl:
                raise InfraUnavailable(
                    "cannot create a test vhost: the RabbitMQ management API is not reachable at "
                    f"{self.management} (enable it with 'rabbitmq-plugins enable rabbitmq_management' "
                    "or set RABBITMQ_MANAGEMENT_URL) and rabbitmqctl is not on PATH") from None
            subprocess.run([ctl, "add_vhost", name], check=True, capture_output=True, timeout=60)
            subprocess.run([ctl, "set_permissions", "-p", name, self.user, ".*", ".*", ".*"],
                           check=True, capture_output=True)
        self.vhosts.append(name)
        parts = urllib.parse.urlsplit(self.base_uri)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + urllib.parse.quote(name, safe=""), "", ""))

    def delete_vhost(self, name):
        """Delete a test vhost.  With its dozens of quorum queues this takes seconds on a loaded
        broker: the API gets a minute, then the CLI a bounded try; a vhost left behind is only
        litter (named by run), never a reason to hang the run."""
        try:
            requests.delete(self.management + f"/api/vhosts/{urllib.parse.quote(name, safe='')}",
                            auth=(self.user, self.password), timeout=60)
        except requests.RequestException:
            ctl = shutil.which("rabbitmqctl")
            if ctl:
                try:
                    subprocess.run([ctl, "delete_vhost", name], capture_output=True, timeout=60)
                except subprocess.TimeoutExpired:
                    pass

    def close(self):
        for name in self.vhosts:
            self.delete_vhost(name)
        if self._container is not None:
            self._container.stop()


class Postgres:
    """A PostgreSQL server and the databases this run makes on it."""

    def __init__(self):
        self._container = None
        url = os.environ.get("DATABASE_URL")
        if url and not url.startswith("postgres"):
            raise InfraUnavailable(f"DATABASE_URL must name a PostgreSQL server for the tests, not {url.split(':')[0]}")
        if not url and not _docker_available():
            if not _reachable("127.0.0.1", 5432):
                raise InfraUnavailable(HOW_TO.format(what="PostgreSQL", env="DATABASE_URL", example=LOCAL_PG))
            url = LOCAL_PG
        if not url:
            from testcontainers.postgres import PostgresContainer
            self._container = PostgresContainer("postgres:15", driver="psycopg2").start()
            url = self._container.get_connection_url()
        self.admin_url = normalize_url(url.replace("{service}", "postgres"))
        self.admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        self.databases = []

    def create_database(self, prefix="t"):
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.databases.append(name)
        return sa.engine.make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url):
        name = sa.engine.make_url(url).database
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.databases:
            self.databases.remove(name)

    def close(self):
        for name in list(self.databases):
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()
        if self._container is not None:
            self._container.stop()
