"""How a license's widget looks: the theme it uses, the colours a saved appearance overrides, and the WCAG contrast
maths both the widget and the wizard's warnings use."""

from __future__ import annotations

from ..protocol.config import Appearance
from ..protocol.errors import ApiError
from .cache import WidgetCache
from .themes import Theme, load_themes

DEFAULT_THEME = "classic"


def themes_of(cache: WidgetCache) -> dict[str, Theme]:
    if cache.themes is None:
        cache.themes = load_themes()
    return cache.themes


def theme_for(cache: WidgetCache, appearance: Appearance) -> Theme:
    themes = themes_of(cache)
    theme = themes.get(appearance.theme) or themes.get(DEFAULT_THEME) or next(iter(themes.values()), None)
    if theme is None:
        raise ApiError("service_unavailable", "No valid theme is installed")
    return theme


def color_overrides(appearance: Appearance) -> dict[str, str]:
    """A saved primary colour also colours the customer's bubbles; background and text override the surfaces."""
    out: dict[str, str] = {}
    if appearance.primary_color:
        out |= {"primary": appearance.primary_color, "customer_bubble": appearance.primary_color,
                "on_primary": readable_on(appearance.primary_color),
                "customer_text": readable_on(appearance.primary_color)}
    if appearance.background_color:
        out["background"] = appearance.background_color
    if appearance.text_color:
        out |= {"text": appearance.text_color, "agent_text": appearance.text_color}
    return out


def relative_luminance(color: str) -> float:
    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast_ratio(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(color: str) -> str:
    """White or near-black, whichever reads better on ``color`` (WCAG contrast)."""
    return "#ffffff" if contrast_ratio(color, "#ffffff") >= contrast_ratio(color, "#111111") else "#111111"
