"""Accessibility checks in the browser tests: axe-core (npm, pinned in ``e2e/js/package.json``) run in the page.

``assert_no_violations(page)`` fails the test with every violation axe finds (rule, impact, the elements and what
to fix), on the page as it is at that moment: call it on each screen a test reaches. axe is evaluated through
Playwright's protocol channel, which a page's Content-Security-Policy does not govern, so pages keep their strict CSP
(``script-src 'self'``) and a test watching for CSP violations sees none.

axe-core's script is read from ``e2e/js/node_modules``; ``npm ci`` installs it there when it is missing or older than
the lock file (npm is a hard requirement of the e2e suite, as for the customer SDK bundle)."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

JS_DIR = Path(__file__).resolve().parent / "js"
AXE_SCRIPT = JS_DIR / "node_modules" / "axe-core" / "axe.min.js"

# The standards checked: WCAG 2.0, 2.1 and 2.2 A and AA, and axe's best practices (landmarks, headings, regions).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@cache
def axe_source() -> str:
    """axe-core's browser script, installed with ``npm ci`` in ``e2e/js`` when missing or stale."""
    lock = JS_DIR / "package-lock.json"
    if _mtime(AXE_SCRIPT) == 0.0 or _mtime(JS_DIR / "node_modules" / ".package-lock.json") < _mtime(lock):
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is required to install axe-core (e2e/js/), and it is not on PATH", pytrace=False)
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0 or not AXE_SCRIPT.exists():
            pytest.fail(f"npm ci in {JS_DIR} failed: {done.stderr[-2000:]}", pytrace=False)
    return AXE_SCRIPT.read_text()


def violations(page: Page, include: str | None = None) -> list[dict[str, Any]]:
    """axe's violations on the page now (or inside the element ``include`` selects)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(
        """async ([include, tags]) => {
            const result = await axe.run(include ? { include: [include] } : document,
                                         { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
            }));
        }""",
        [include, TAGS],
    )


def assert_no_violations(page: Page, include: str | None = None) -> None:
    """Fails with a readable list when axe finds any violation on the page (or inside ``include``)."""
    found = violations(page, include)
    if found:
        lines = [f"{len(found)} accessibility violation(s) on {page.url}:"]
        for v in found:
            lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
            lines += [f"    {n['target']}: {n['summary']}" for n in v["nodes"][:5]]
        pytest.fail("\n".join(lines), pytrace=False)
