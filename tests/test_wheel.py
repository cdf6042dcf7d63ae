"""The wheel is the product (#19): built by the standard front end (``python -m build``) from this checkout, installed
into a fresh venv (dependencies from the package index, pip's cache reused), and run as ``widget-server`` with no npm
or node on the PATH and no checkout in reach: it serves the prebuilt widget, its themes and the API docs' UI, and a
visitor chats."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import CustomerClient, LiveServer

ROOT = Path(__file__).resolve().parent.parent


def _install(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The wheel built from this checkout, installed into a fresh venv; the venv and an environment without npm."""
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = dist.glob("widget_server-*-py3-none-any.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / "bin"
    # only the venv's own programs: no npm, no node, no checkout on any path
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIDGET_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = str(bin_dir)
    assert shutil.which("npm", path=env["PATH"]) is None and shutil.which("node", path=env["PATH"]) is None
    installed = subprocess.run([str(bin_dir / "pip"), "install", "-q", str(wheel)], env=env, cwd=tmp_path,
                               capture_output=True, text=True, timeout=600, check=False)
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = subprocess.run([str(bin_dir / "python"), "-c", "import widget_server; print(widget_server.__file__)"],
                           env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert where.stdout.startswith(str(venv))
    build = _build(str(bin_dir / "widget-server"), env, tmp_path)
    assert build.returncode == 0 and "widget.js" in build.stdout, build.stdout + build.stderr  # no npm needed
    return venv, env


def _build(cli: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([cli, "build"], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def _credentials(cli: str, data: Path, env: dict[str, str], cwd: Path) -> dict:
    return json.loads(subprocess.run([cli, "credentials", "--data-dir", str(data)], env=env, cwd=cwd,
                                     capture_output=True, text=True, check=True).stdout)


async def test_the_installed_wheel_serves_the_widget_without_npm_or_a_checkout(tmp_path):
    venv, env = _install(tmp_path)
    cli = str(venv / "bin" / "widget-server")
    data = tmp_path / "data"
    live = LiveServer(data, command=[cli], checkout=tmp_path, env={"PATH": env["PATH"], "PYTHONPATH": ""}).start()
    try:
        org = _credentials(cli, data, env, tmp_path)["organization_id"]
        async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
            # the page a visitor gets: the demo page with the snippet, the loader, the frame and its files
            assert (await http.get("/demo", params={"organization_id": org})).status_code == 200
            loader = await http.get("/widget/loader.js")
            assert loader.status_code == 200 and len(loader.content) > 1000
            frame = await http.get("/widget/frame", params={"organization_id": org})
            assert frame.status_code == 200
            files = re.findall(r'/widget/assets/[\w.-]+\.(?:js|css)', frame.text)
            assert any(".js" in f for f in files) and any("/theme-" in f for f in files), frame.text[:500]
            for path in files:
                assert (await http.get(path)).status_code == 200, path
            # the themes shipped in the wheel: every one the checkout has is offered
            themes = {p.name for p in (ROOT / "themes").iterdir() if (p / "theme.css").is_file()}
            manifest = json.loads(next(venv.rglob("widget_server/_static/static/dist/manifest.json")).read_text())
            assert {f"theme-{name}.css" for name in themes} <= set(manifest["files"])
            # the API docs' UI, from this server only
            docs = await http.get("/schema")
            assert docs.status_code == 200
            ui = re.findall(r'(?:src|href)="([^"]*/widget/assets/docs[^"]*)"', docs.text)
            # (no script or stylesheet from another host; the spec's own text may say "CDN")
            assert len(ui) == 3 and not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", docs.text), docs.text[:1000]
            assert not re.search(r"jsdelivr|unpkg|cdnjs", docs.text), docs.text[:1000]
            for url in ui:
                assert (await http.get(url)).status_code == 200, url
            # the agent console's bundles (built with the widget, shipped in the wheel)
            console = await http.get("/agent")
            assert console.status_code == 200
            bundles = re.findall(r'/agent/assets/console\.[0-9a-f]{12}\.(?:js|css)', console.text)
            assert len(bundles) == 2, console.text[:1000]
            for url in bundles:
                assert (await http.get(url)).status_code == 200, url
        # a visitor chats
        customer = await CustomerClient(live.url, org).authorize()
        try:
            chat = await customer.ok("start_chat", {"chat": {"thread": {"events": [
                {"type": "message", "text": "hello from the wheel"}]}}})
            got = await customer.ok("get_chat", {"chat_id": chat["chat_id"]})
            assert [e.get("text") for e in got["thread"]["events"]] == ["hello from the wheel"]
        finally:
            await customer.aclose()
    finally:
        live.stop()
    # a wheel whose prebuilt widget is gone says so, and never reaches for npm
    next(venv.rglob("widget_server/_static/static/dist/manifest.json")).unlink()
    broken = _build(cli, env, tmp_path)
    assert broken.returncode == 1 and "reinstall the wheel" in broken.stdout, broken.stdout + broken.stderr
