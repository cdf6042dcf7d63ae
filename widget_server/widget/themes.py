"""Themes: ``themes/<name>/tokens.json`` (validated by ``ThemeTokens``) and ``theme.css`` (rules over the tokens'
CSS variables only). A broken theme is logged by name and field and left out; the others are still served.

The tokens become CSS custom properties (``--ws-primary`` …) that the frame sets on its root through the CSSOM (no
inline style, so the frame's Content-Security-Policy stays strict); a license's saved colours override the theme's.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from .build import THEMES_DIR

log = logging.getLogger("widget_server.themes")

Color = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$", description="#rrggbb")]
Length = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,3}(\.[0-9]+)?(px|rem|em)$")]
# a font stack or a shadow: letters, digits, spaces and the punctuation they need; nothing that ends a declaration
FontStack = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9 ,\-\"']{1,200}$")]
Shadow = Annotated[str, msgspec.Meta(pattern=r"^(none|[a-z0-9 ,.()#%\-]{1,200})$")]


class ThemeColors(msgspec.Struct, forbid_unknown_fields=True):
    primary: Color
    on_primary: Color
    background: Color
    surface: Color
    text: Color
    muted: Color
    border: Color
    agent_bubble: Color
    agent_text: Color
    customer_bubble: Color
    customer_text: Color


class LauncherTokens(msgspec.Struct, forbid_unknown_fields=True):
    shape: Literal["circle", "rounded", "square"]
    icon: Literal["chat", "bubble", "help"]
    size: Length


class ThemeTokens(msgspec.Struct, forbid_unknown_fields=True):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    colors: ThemeColors
    radius: Length
    font: FontStack
    spacing: Length
    shadow: Shadow
    launcher: LauncherTokens
    dark: ThemeColors | None = None
    """A second palette for visitors whose system prefers a dark colour scheme (the ``auto`` theme): the frame
    switches between the two with ``prefers-color-scheme``, also while it is open."""


class Theme(msgspec.Struct):
    name: str
    tokens: ThemeTokens

    def variables(self, overrides: dict[str, str] | None = None, dark: bool = False) -> dict[str, str]:
        """The CSS custom properties of the theme, with a license's colour overrides (``primary`` …) applied; with
        ``dark``, those of its dark palette (the same overrides: an owner's colour is the brand's in both)."""
        t = self.tokens
        palette = t.dark if dark and t.dark is not None else t.colors
        colors = msgspec.structs.asdict(palette) | (overrides or {})
        out = {f"--ws-{k.replace('_', '-')}": v for k, v in colors.items()}
        out |= {"--ws-radius": t.radius, "--ws-font": t.font, "--ws-spacing": t.spacing, "--ws-shadow": t.shadow,
                "--ws-launcher-size": t.launcher.size}
        return out


def load_themes(directory: Path = THEMES_DIR) -> dict[str, Theme]:
    themes: dict[str, Theme] = {}
    if not directory.is_dir():
        log.error("themes directory %s is missing", directory)
        return themes
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        try:
            tokens = msgspec.json.decode((folder / "tokens.json").read_bytes(), type=ThemeTokens)
        except FileNotFoundError:
            log.error("theme %r is broken: tokens.json is missing", folder.name)
            continue
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            log.error("theme %r is broken: %s", folder.name, exc)
            continue
        if not (folder / "theme.css").is_file():
            log.error("theme %r is broken: theme.css is missing", folder.name)
            continue
        themes[folder.name] = Theme(folder.name, tokens)
    return themes
