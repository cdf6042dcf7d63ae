"""What a worker keeps of the widget in memory: the built files, the themes, rendered frame pages, encoded
configurations and the agents' availability of the last second."""

from __future__ import annotations

from typing import Any

from .assets import Asset, WidgetAssets
from .themes import Theme


class WidgetCache:
    __slots__ = ("assets", "themes", "frame_pages", "static_configs", "launcher_css", "online_groups")

    def __init__(self) -> None:
        self.assets: WidgetAssets | None = None
        self.themes: dict[str, Theme] | None = None
        self.frame_pages: dict[tuple[str, ...], Asset] = {}
        self.static_configs: dict[tuple[Any, ...], bytes] = {}
        """(org, config version, group, language, build) -> the encoded configuration every visitor of them gets."""
        self.launcher_css: str | None = None
        self.online_groups: dict[tuple[str, int], tuple[float, bool]] = {}
        """(license, group) -> (until, any agent accepting): the widget's per-worker second-long cache."""

    def forget(self, org: str) -> None:
        """The license's configuration changed: the configurations encoded from it go."""
        for key in [k for k in self.static_configs if k[0] == org]:
            self.static_configs.pop(key, None)
