"""The test harness (not shipped with widget_server): a real Valkey, a real granian server process, and clients
speaking the Customer Chat and Agent APIs over HTTP and websockets. Nothing here is faked.

Importable as ``tests.support`` from tests/ and e2e/ (pytest's ``pythonpath = ["."]``) and from the benchmarks, which
put the repository root on ``sys.path`` themselves."""

from .clients import AgentClient, CustomerClient, Socket, configure
from .ports import free_port, free_ports
from .servers import LiveServer, WebhookReceiver, serve_http
from .valkey import ValkeyCluster, start_valkey

__all__ = ["AgentClient", "CustomerClient", "LiveServer", "Socket", "ValkeyCluster", "WebhookReceiver", "free_port",
           "free_ports", "serve_http", "start_valkey"]
