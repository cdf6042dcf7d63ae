"""The package's layout rules, read from the source's imports: a newcomer who puts code in the wrong place is told
here, not in a review. (README, "Layout".)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "widget_server"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()


def _imports(module: str) -> set[str]:
    """The package's modules ``module`` imports (a name imported from a package counts as its module when it is
    one, else as the package)."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            elif (node.module or "").startswith("widget_server"):
                base = node.module or ""
            else:
                continue
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("widget_server"))
    return {m for m in found if m in MODULES and m != module}


GRAPH = {module: _imports(module) for module in MODULES}


def _in(area: str) -> list[str]:
    return [m for m in MODULES if m == f"widget_server.{area}" or m.startswith(f"widget_server.{area}.")]


def test_the_rules_see_the_package():
    assert len(MODULES) > 60 and "widget_server.api.widget" in GRAPH["widget_server.app"]


def test_no_module_under_api_names_a_valkey_key_or_holds_a_valkey_client():
    for module in _in("api"):
        assert "widget_server.keys" not in GRAPH[module], module
        assert "widget_server.valkey" not in GRAPH[module], module
        assert ".valkey." not in MODULES[module].read_text(), module


def test_the_wizard_imports_nothing_from_api():
    for module in _in("wizard"):
        assert not [m for m in GRAPH[module] if m.startswith("widget_server.api")], module


@pytest.mark.parametrize("module", _in("upstream"))
def test_the_upstream_edge_imports_only_interfaces_protocol_and_data_shapes(module):
    allowed = {"widget_server.core.interface", "widget_server.widget.visitors", "widget_server.widget.models",
               "widget_server.auth.signing", "widget_server.tracking.models", "widget_server.settings",
               "widget_server.keys", "widget_server.protocol"}
    outside = {m for m in GRAPH[module] if not m.startswith("widget_server.upstream")}
    assert {m for m in outside if not m.startswith("widget_server.protocol.") and m not in allowed} == set()


def test_there_is_no_import_cycle():
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            raise AssertionError(" -> ".join(path[path.index(module):] + [module]))
        if module in done:
            return
        for dependency in GRAPH[module]:
            visit(dependency, [*path, module])
        done.add(module)

    for module in GRAPH:
        visit(module, [])


def test_handlers_get_their_services_by_injection_not_from_the_app_state():
    """The factory puts the services on ``app.state`` for the one place that cannot be injected into: a guard."""
    readers = {module for module, path in MODULES.items() if "app.state." in path.read_text()}
    assert readers == {"widget_server.app", "widget_server.wizard.pages"}


@pytest.mark.parametrize("module", _in("mail"))
def test_mail_is_a_service_below_the_transports(module):
    """``mail/`` is a service the cores and the transports use (``Services.mailer``): it imports the key names, the
    script registry, settings and the shared templates, never a transport, the wizard or a chat core."""
    allowed = {"widget_server.keys", "widget_server.settings", "widget_server.core.scripts", "widget_server.core.ids",
               "widget_server.protocol.common", "widget_server.web.templates", "widget_server.observe",
               "widget_server.observe.metrics"}
    outside = {m for m in GRAPH[module] if not m.startswith("widget_server.mail")}
    assert outside - allowed == set()


@pytest.mark.parametrize("module", _in("observe"))
def test_observability_is_a_leaf_every_layer_may_use(module):
    """``observe/`` (metrics, logs, the request layer, traces) is imported from every layer, so it imports none of
    them: only itself and the data dir's helper."""
    outside = {m for m in GRAPH[module] if not m.startswith("widget_server.observe")}
    assert outside - {"widget_server", "widget_server.datadir"} == set()
