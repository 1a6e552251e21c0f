"""Root fixtures.  eventlet's full monkey_patch() must run before anything else
(naming one module would switch the others off), or tests hang."""
import warnings

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")  # announced on import

import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import uuid  # noqa: E402

import pytest  # noqa: E402

from tests.support.infra import Broker, Postgres  # noqa: E402

RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def broker():
    b = Broker()
    yield b
    b.close()


@pytest.fixture(scope="session")
def postgres():
    pg = Postgres()
    yield pg
    pg.close()


@pytest.fixture
def amqp_uri(broker):
    """A fresh vhost per test: no queue or message leaks between tests."""
    name = f"test-{RUN_ID}-{uuid.uuid4().hex[:8]}"
    uri = broker.create_vhost(name)
    yield uri
    broker.delete_vhost(name)
    broker.vhosts.remove(name)


@pytest.fixture
def pg_url(postgres):
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Storage tests run on both backends."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def container_factory(amqp_uri, tmp_path):
    """Start a nameko service container with the suite's config on this test's vhost."""
    from nameko.containers import ServiceContainer

    from shared.config import load_config

    containers = []

    def make(service_cls, database_url=None, **overrides):
        env = {"AMQP_URI": amqp_uri, "DATA_DIR": str(tmp_path / "data")}
        config = load_config(service_cls.name, env=env, overrides=overrides or None)
        if database_url:
            config["DATABASE_URL"] = database_url
        container = ServiceContainer(service_cls, config)
        containers.append(container)
        return container

    yield make
    for c in reversed(containers):
        try:
            c.kill()
        except Exception:
            pass


@pytest.fixture
def rpc_client(amqp_uri):
    """A standalone RPC client (what the gateway and tests use to call services)."""
    from nameko.standalone.rpc import ClusterRpcProxy

    proxies = []

    def make(timeout=15):
        proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=timeout)
        proxies.append(proxy)
        return proxy.start()

    yield make
    for p in proxies:
        p.stop()
