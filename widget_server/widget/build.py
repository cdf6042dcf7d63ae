"""``python -m widget_server build``: bundle and minify the widget's sources with esbuild into content-hashed files.

Sources: ``static/src/loader.js`` (the script tag; also built as LiveChat's ``tracking.js``: ``DEFINES``), ``host.js``
(host-page extras it loads when needed),
``launcher.css`` (the launcher's styles, sent in the visit answer), ``static/src/widget/main.js`` and
``static/src/widget/widget.css`` (the chat frame), ``static/src/console/main.js`` and ``console.css`` (the agent
console, ``api/console.py``), and every theme's ``themes/<name>/theme.css``. Output in ``static/dist/``: each file as
``<name>.<hash>.<ext>`` with ``.gz`` and ``.br`` siblings, and ``manifest.json`` mapping logical names to them, plus a
digest of the sources so ``serve`` rebuilds only when something changed.

esbuild comes from the npm registry (``static/package.json``, installed with ``npm ci`` on first build): PyPI's
``esbuild`` package downloads it at runtime with TLS checks off (``STACK-NOTES.md`` §5). The previous build's files
are kept beside the new ones, so a frame page rendered just before a deploy still finds its hashed files.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import brotli
import msgspec

log = logging.getLogger("widget_server.build")

ROOT = Path(__file__).resolve().parent.parent.parent
# An installed wheel carries the built widget and the themes inside the package (``widget_server/_static/``, copied
# there by ``setup.py``'s build hook); a checkout has the sources at the repository's root and builds them.
PACKAGED_DIR = Path(__file__).resolve().parent.parent / "_static"
FROM_CHECKOUT = (ROOT / "static" / "src").is_dir()
_BASE = ROOT if FROM_CHECKOUT else PACKAGED_DIR
STATIC_DIR = Path(os.environ.get("WIDGET_STATIC_DIR") or _BASE / "static")
THEMES_DIR = Path(os.environ.get("WIDGET_THEMES_DIR") or _BASE / "themes")
DIST_DIR = STATIC_DIR / "dist"
MANIFEST = "manifest.json"

# logical name -> (source relative to static/src, esbuild flags)
JS_FLAGS = ["--bundle", "--minify", "--format=iife", "--target=es2019", "--legal-comments=none"]
ENTRIES: dict[str, str] = {
    "loader.js": "loader.js",
    "tracking.js": "loader.js",
    "host.js": "host.js",
    "launcher.css": "launcher.css",
    "widget.js": "widget/main.js",
    "widget.css": "widget/widget.css",
    # the agent console (``/agent``): ES modules by concern and view, bundled into one file like the widget's
    "console.js": "console/main.js",
    "console.css": "console/console.css",
}
# entries served only to agents' up-to-date browsers: no need to lower modern syntax (private fields, ``?.``)
ENTRY_TARGETS: dict[str, str] = {"console.js": "es2022"}


# esbuild's --define per logical name: the loader is built twice, as our loader.js and as LiveChat's tracking.js
# (``LIVECHAT``: window.__lc and window.LiveChatWidget instead of window.__ws and window.WidgetServer); the branch
# not taken is left out of each file
DEFINES: dict[str, list[str]] = {
    "loader.js": ["--define:LIVECHAT=false"],
    "tracking.js": ["--define:LIVECHAT=true"],
}


# logical name -> a file an npm package ships ready to serve, copied as it is (its source map comment dropped): the
# API docs' UI (Swagger UI), so /schema renders without reaching a CDN
VENDORED: dict[str, str] = {
    "docs.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "docs-preset.js": "swagger-ui-dist/swagger-ui-standalone-preset.js",
    "docs.css": "swagger-ui-dist/swagger-ui.css",
}


class BuiltFile(msgspec.Struct):
    file: str
    """The content-hashed file name in ``dist/``."""
    size: int
    gzip: int
    br: int


class Manifest(msgspec.Struct):
    source_digest: str
    files: dict[str, BuiltFile]
    previous: list[str] = msgspec.field(default_factory=list)
    """Hashed file names of the build before this one, kept on disk."""


class BuildError(RuntimeError):
    pass


def _source_files() -> list[Path]:
    files = [p for p in sorted((STATIC_DIR / "src").rglob("*")) if p.is_file()]
    files += [p for p in sorted(THEMES_DIR.rglob("*")) if p.is_file()]
    lock = STATIC_DIR / "package-lock.json"
    return files + ([lock] if lock.exists() else [])


def source_digest() -> str:
    h = hashlib.sha256()
    for path in _source_files():
        h.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:24]


def read_manifest(dist: Path = DIST_DIR) -> Manifest | None:
    try:
        return msgspec.json.decode((dist / MANIFEST).read_bytes(), type=Manifest)
    except (FileNotFoundError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def theme_names() -> list[str]:
    if not THEMES_DIR.is_dir():
        return []
    return sorted(p.name for p in THEMES_DIR.iterdir() if (p / "theme.css").is_file())


def _esbuild() -> Path:
    binary = STATIC_DIR / "node_modules" / ".bin" / "esbuild"
    vendored = [STATIC_DIR / "node_modules" / rel for rel in VENDORED.values()]
    if not binary.exists() or not all(path.exists() for path in vendored):
        npm = shutil.which("npm")
        if npm is None:
            raise BuildError("npm is not installed: it is needed once to install esbuild (apt-get install -y npm)")
        command = "ci" if (STATIC_DIR / "package-lock.json").exists() else "install"
        log.info("installing esbuild (npm %s in %s)", command, STATIC_DIR)
        done = subprocess.run([npm, command, "--no-audit", "--no-fund", "--loglevel=error"], cwd=STATIC_DIR,
                              capture_output=True, text=True)
        if done.returncode != 0 or not binary.exists():
            raise BuildError(f"npm {command} failed: {done.stderr.strip() or done.stdout.strip()}")
    return binary


def _vendored(rel: str) -> bytes:
    body = (STATIC_DIR / "node_modules" / rel).read_bytes()
    # (the source map is not served: its comment would only make the browser ask for it)
    return re.sub(rb"\n?(//|/\*)# sourceMappingURL=[^\n]*\s*$", b"\n", body)


def _compile(esbuild: Path, source: Path, out: Path, target: str | None = None,
             defines: list[str] | None = None) -> bytes:
    flags = JS_FLAGS if source.suffix == ".js" else ["--bundle", "--minify", "--loader:.svg=dataurl"]
    if target:
        flags = [f"--target={target}" if flag.startswith("--target=") else flag for flag in flags]
    done = subprocess.run([str(esbuild), str(source), *flags, *(defines or []), f"--outfile={out}",
                           "--log-level=error"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"esbuild failed on {source}: {done.stderr.strip()}")
    return out.read_bytes()


def _write(dist: Path, logical: str, body: bytes) -> BuiltFile:
    stem, _, ext = logical.rpartition(".")
    name = f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{ext}"
    packed_gz = gzip.compress(body, compresslevel=9, mtime=0)
    packed_br = brotli.compress(body, quality=11, mode=brotli.MODE_TEXT)
    for path, data in ((dist / name, body), (dist / f"{name}.gz", packed_gz), (dist / f"{name}.br", packed_br)):
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return BuiltFile(file=name, size=len(body), gzip=len(packed_gz), br=len(packed_br))


@contextmanager
def _locked(dist: Path) -> Iterator[None]:
    """Several servers starting at once (tests, a deploy) build one at a time; the later ones find it done."""
    dist.mkdir(parents=True, exist_ok=True)
    with open(dist / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def prebuilt() -> Manifest:
    """The widget an installed wheel ships (no sources, no npm): its manifest, or a clear error when it is broken."""
    current = read_manifest()
    missing = [] if current is None else [f.file for f in current.files.values() if not (DIST_DIR / f.file).exists()]
    if current is None or missing:
        raise BuildError(f"no widget sources in {STATIC_DIR / 'src'} and the prebuilt widget in {DIST_DIR} is "
                         f"{'missing' if current is None else 'incomplete'}: reinstall the wheel, or run from a "
                         "checkout with npm installed")
    return current


def build(force: bool = False) -> Manifest:
    """Build when the sources changed since the last build (or always with ``force``); returns the manifest. Without
    sources (an installed wheel) nothing is built: the prebuilt widget is checked and used, and npm is never needed."""
    if not (STATIC_DIR / "src").is_dir():
        return prebuilt()
    digest = source_digest()
    with _locked(DIST_DIR):
        current = read_manifest()
        if current is not None and current.source_digest == digest and not force and all(
                (DIST_DIR / f.file).exists() for f in current.files.values()):
            return current
        esbuild = _esbuild()
        sources = {logical: STATIC_DIR / "src" / rel for logical, rel in ENTRIES.items()}
        sources.update({f"theme-{name}.css": THEMES_DIR / name / "theme.css" for name in theme_names()})
        files: dict[str, BuiltFile] = {}
        with tempfile.TemporaryDirectory() as tmp:
            for logical, source in sources.items():
                files[logical] = _write(DIST_DIR, logical, _compile(esbuild, source, Path(tmp) / logical,
                                                                     ENTRY_TARGETS.get(logical),
                                                                     DEFINES.get(logical)))
        for logical, rel in VENDORED.items():
            files[logical] = _write(DIST_DIR, logical, _vendored(rel))
        previous = [f.file for f in current.files.values()] if current else []
        manifest = Manifest(source_digest=digest, files=files, previous=previous)
        keep = {MANIFEST, ".lock"} | {f.file for f in files.values()} | set(previous)
        for path in DIST_DIR.iterdir():
            base = path.name.removesuffix(".gz").removesuffix(".br")
            if path.is_file() and base not in keep:
                path.unlink()
        tmp_manifest = DIST_DIR / (MANIFEST + ".tmp")
        tmp_manifest.write_bytes(msgspec.json.format(msgspec.json.encode(manifest), indent=2))
        tmp_manifest.replace(DIST_DIR / MANIFEST)
        log.info("widget built: %s", ", ".join(f"{k} {v.size} B ({v.gzip} B gzip, {v.br} B br)"
                                               for k, v in files.items()))
        return manifest


def main() -> int:
    try:
        manifest = build(force=(STATIC_DIR / "src").is_dir())
    except BuildError as exc:
        print(f"build failed: {exc}")
        return 1
    print(json.dumps({k: msgspec.to_builtins(v) for k, v in manifest.files.items()}, indent=2))
    return 0
