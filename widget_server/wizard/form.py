"""The settings form: its fields as the page shows them, and the parsing of a submitted form into ``WizardSettings``
with a clear message per field for every bad value. Nothing is saved unless every field is good.

Texts the owner writes (title, greeting, offline texts…) are plain text: the widget renders them with
``textContent``, so markup would show as written; the form refuses anything that looks like a tag so that the owner
is not surprised by it. Contrast warnings (WCAG 2.x) are advice, not errors: the page shows them and saving goes on.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from ..protocol.config import Appearance, FormSetting
from ..protocol.customer import Form, FormFieldSpec
from ..widget.appearance import DEFAULT_THEME, contrast_ratio, readable_on
from ..widget.locales import TEXTS
from ..widget.themes import Theme
from ..widget.versions import WizardSettings

COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
SHORT_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{3}$")
MARKUP_RE = re.compile(r"<\s*/?\s*[a-zA-Z!?]|javascript\s*:", re.IGNORECASE)
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
HOST_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*)$")

TEXTS_MAX = {"title": 80, "agent_name": 80, "launcher_text": 80, "greeting": 500, "offline_title": 80,
             "offline_text": 500}
MULTILINE = {"greeting", "offline_text"}
NUMBERS = {"offset_x": (0, 200), "offset_y": (0, 200), "width": (300, 640), "height": (400, 900),
           "greeting_delay": (0, 600)}
COLORS = ("primary_color", "background_color", "text_color")
POSITIONS = {"bottom-right": "Bottom right", "bottom-left": "Bottom left"}
LAUNCHERS = {"icon": "Icon", "text": "Icon and text", "bubble": "Speech bubble"}
LANGUAGES = {"auto": "The visitor's browser language", "en": "English", "de": "Deutsch", "es": "Español",
             "fr": "Français", "pl": "Polski", "ar": "العربية"}
SURVEY_TYPES = {"name": "Name", "email": "E-mail", "question": "Question", "textarea": "Long answer",
                "choice": "Choice", "rating": "Rating (good or bad)"}
FORMS = {"prechat": "Pre-chat survey", "postchat": "Post-chat survey", "ticket": "Message form"}
"""The forms the wizard edits, by their rows' name prefix (also the form's id and its ``form_type``)."""
FORM_TYPES = {
    "prechat": ("name", "email", "question", "textarea", "choice"),
    "postchat": ("rating", "question", "textarea", "choice"),
    "ticket": ("name", "email", "question", "textarea", "choice"),
}
"""The field types each form offers: a rating belongs after the chat; after the chat the visitor is known, so the
post-chat survey asks no name or e-mail."""
LABELS = {"theme": "Theme", "primary_color": "Primary colour", "background_color": "Background colour",
          "text_color": "Text colour", "position": "Position on the page", "offset_x": "Distance from the side",
          "offset_y": "Distance from the bottom", "launcher": "Launcher style", "launcher_text": "Launcher text",
          "width": "Width", "height": "Height", "title": "Window title", "language": "Language",
          "agent_name": "Agent display name", "avatar_file": "Avatar image", "greeting": "Greeting message",
          "greeting_delay": "Greeting delay", "offline_title": "Message form title",
          "offline_text": "Message form text", "allowed_origins": "Websites", **FORMS, "form": "Settings"}
MAX_ORIGINS = 50
MAX_SURVEY_FIELDS = 20
MAX_OPTIONS = 20
MAX_LABEL = 200
MAX_OPTION = 100
AA_TEXT = 4.5

assert set(LANGUAGES) - {"auto"} <= set(TEXTS)


def text_problem(value: str, limit: int, multiline: bool = False) -> str | None:
    if len(value) > limit:
        return f"Use at most {limit} characters (this has {len(value)})."
    if MARKUP_RE.search(value):
        return "Use plain text: remove the HTML markup (<…>). The widget shows texts exactly as they are written."
    if CONTROL_RE.search(value) or (not multiline and ("\n" in value or "\r" in value)):
        return "Remove the control characters and line breaks." if not multiline else "Remove the control characters."
    return None


def color_value(raw: str) -> str:
    """``#abc`` and upper case are accepted and written as ``#aabbcc``."""
    raw = raw.strip()
    if SHORT_COLOR_RE.match(raw):
        raw = "#" + "".join(c * 2 for c in raw[1:])
    return raw.lower()


def origin_problem(line: str) -> str | None:
    parts = urlsplit(line)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "is not a web origin"
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return "has more than an origin (a path, query or user)"
    if not HOST_RE.match(parts.hostname):
        return "has an invalid host name"
    try:
        _ = parts.port
    except ValueError:
        return "has an invalid port"
    return None


def normalize_origin(line: str) -> str:
    parts = urlsplit(line)
    return f"{parts.scheme}://{parts.netloc.lower()}"


class Parsed(msgspec.Struct):
    settings: WizardSettings | None
    errors: dict[str, str]
    values: dict[str, Any]
    """The submitted values, to show the form again as it was sent."""


def parse(form: Mapping[str, str], themes: dict[str, Theme], avatar: str) -> Parsed:
    """The settings of a submitted form; ``avatar`` is the avatar URL the form resolved to (kept, uploaded or
    removed, see pages.py). Every problem becomes a message keyed by the field's name."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {name: str(form.get(name, "")) for name in
                              ("theme", "position", "launcher", "language", *COLORS, *TEXTS_MAX, *NUMBERS)}
    values["rating"] = bool(form.get("rating"))
    values["agent_avatar"] = avatar
    fields: dict[str, Any] = {"rating": values["rating"], "agent_avatar": avatar}

    theme = values["theme"]
    if theme not in themes:
        names = ", ".join(t.tokens.label for t in themes.values())
        errors["theme"] = (f"Unknown theme “{theme[:40]}”: choose one of {names}." if theme
                           else f"Choose a theme: {names}.")
    fields["theme"] = theme
    for name in COLORS:
        raw = values[name].strip()
        if not raw:
            continue
        color = color_value(raw)
        if not COLOR_RE.match(color):
            errors[name] = "Enter a colour as # and six hexadecimal digits, for example #1d4ed8 (empty: the theme's)."
        else:
            fields[name] = values[name] = color
    for name, choices in (("position", POSITIONS), ("launcher", LAUNCHERS), ("language", LANGUAGES)):
        if values[name] not in choices:
            errors[name] = "Choose one of: " + ", ".join(choices.values()) + "."
        else:
            fields[name] = values[name]
    for name, (lo, hi) in NUMBERS.items():
        raw = values[name].strip()
        try:
            number = int(raw)
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi:
            errors[name] = f"Enter a whole number from {lo} to {hi}."
        else:
            fields[name] = number
    for name, limit in TEXTS_MAX.items():
        value = values[name].replace("\r\n", "\n").strip()
        problem = text_problem(value, limit, name in MULTILINE)
        if problem:
            errors[name] = problem
        else:
            fields[name] = value

    origins, problem = parse_origins(str(form.get("allowed_origins", "")))
    values["allowed_origins"] = str(form.get("allowed_origins", ""))
    if problem:
        errors["allowed_origins"] = problem

    forms: dict[str, FormSetting | None] = {}
    values["surveys"] = {}
    for kind in FORMS:
        forms[kind], values["surveys"][kind], survey_errors = parse_survey(form, kind)
        values[f"{kind}_enabled"] = kind == "ticket" or bool(form.get(f"{kind}_enabled"))
        errors |= survey_errors

    if errors:
        return Parsed(None, errors, values)
    try:
        appearance = msgspec.convert(fields, Appearance)
    except msgspec.ValidationError as exc:  # a limit of Appearance this form does not check itself
        return Parsed(None, {"form": f"Invalid settings: {exc}"}, values)
    return Parsed(WizardSettings(appearance=appearance, allowed_origins=origins, prechat=forms["prechat"],
                                 postchat=forms["postchat"], ticket=forms["ticket"]), {}, values)


def parse_origins(text: str) -> tuple[list[str], str | None]:
    origins: list[str] = []
    lines = [line.strip() for line in text.replace(",", "\n").splitlines() if line.strip()]
    if len(lines) > MAX_ORIGINS:
        return [], f"List at most {MAX_ORIGINS} origins."
    for line in lines:
        problem = origin_problem(line)
        if problem:
            return [], (f"“{line[:100]}” {problem}: write each origin as scheme, host and port only, one per line, "
                        f"for example https://shop.example")
        origin = normalize_origin(line)
        if origin not in origins:
            origins.append(origin)
    return origins, None


def parse_survey(form: Mapping[str, str], kind: str = "prechat") -> tuple[FormSetting | None, list[dict[str, Any]],
                                                                        dict[str, str]]:
    """One of ``FORMS`` from the rows ``<kind>-<i>-type|label|required|options`` in page order; rows with no label
    are left out (a new row not filled in, or one emptied to remove it). The message form (``ticket``) has no
    switch: it is what an offline group shows, and it needs a required e-mail field, the address a reply goes to."""
    errors: dict[str, str] = {}
    enabled = kind == "ticket" or bool(form.get(f"{kind}_enabled"))
    allowed = FORM_TYPES[kind]
    indexes = sorted({int(m.group(1)) for name in form
                      if (m := re.fullmatch(rf"{kind}-(\d{{1,3}})-type", name))})
    rows: list[dict[str, Any]] = []
    specs: list[FormFieldSpec] = []
    for i in indexes:
        field_kind = str(form.get(f"{kind}-{i}-type", ""))
        label = str(form.get(f"{kind}-{i}-label", "")).strip()
        options_text = str(form.get(f"{kind}-{i}-options", ""))
        required = bool(form.get(f"{kind}-{i}-required"))
        row = {"type": field_kind, "label": label, "required": required, "options": options_text}
        if not label:
            continue
        index = len(rows)
        rows.append(row)
        if field_kind not in allowed:
            errors[f"{kind}-{index}-type"] = ("Choose a field type: " + ", ".join(SURVEY_TYPES[t] for t in allowed)
                                              + ".")
            continue
        problem = text_problem(label, MAX_LABEL)
        if problem:
            errors[f"{kind}-{index}-label"] = problem
        options = [o.strip() for o in options_text.splitlines() if o.strip()]
        if field_kind == "choice":
            bad = next((p for o in options if (p := text_problem(o, MAX_OPTION))), None)
            if len(options) < 2:
                errors[f"{kind}-{index}-options"] = "A choice needs at least two options, one per line."
            elif len(options) > MAX_OPTIONS:
                errors[f"{kind}-{index}-options"] = f"A choice takes at most {MAX_OPTIONS} options."
            elif len(set(options)) != len(options):
                errors[f"{kind}-{index}-options"] = "Each option must be different."
            elif bad:
                errors[f"{kind}-{index}-options"] = bad
        field_type = {"choice": "radio"}.get(field_kind, field_kind)
        specs.append(FormFieldSpec(id=f"{field_kind}_{index + 1}", type=field_type, label=label, required=required,
                                   options=[{"label": o} for o in options] if field_kind == "choice" else None))
    if len(rows) > MAX_SURVEY_FIELDS:
        errors[kind] = f"The form takes at most {MAX_SURVEY_FIELDS} fields."
    elif kind == "ticket" and not any(f.type == "email" and f.required for f in specs):
        errors[kind] = "Add a required e-mail field: it is where the reply to the message goes."
    elif kind == "postchat" and sum(f.type == "rating" for f in specs) > 1:
        errors[kind] = "Ask for the rating once: a chat has one rating."
    elif enabled and not rows:
        errors[kind] = f"Add at least one field, or turn the {FORMS[kind].lower()} off."
    if errors:
        return None, rows, errors
    if not rows:
        return FormSetting(enabled=False), rows, {}
    return FormSetting(enabled=enabled, form=Form(id=kind, fields=specs)), rows, {}


# --- from saved settings to the form ---------------------------------------------------------------------------------


def values_of(settings: WizardSettings, defaults: Mapping[str, Form]) -> dict[str, Any]:
    """The form's values for saved settings; a form never saved shows ``defaults[kind]`` (the widget's defaults)."""
    a = settings.appearance
    values: dict[str, Any] = {name: getattr(a, name) or "" for name in
                              ("theme", "position", "launcher", "language", *COLORS, *TEXTS_MAX)}
    values |= {name: str(getattr(a, name)) for name in NUMBERS}
    values |= {"rating": a.rating, "agent_avatar": a.agent_avatar,
               "allowed_origins": "\n".join(settings.allowed_origins)}
    values["surveys"] = {}
    for kind in FORMS:
        setting: FormSetting | None = getattr(settings, kind)
        values[f"{kind}_enabled"] = kind == "ticket" or bool(setting and setting.enabled)
        form = setting.form if setting and setting.form else defaults[kind]
        values["surveys"][kind] = [survey_row(f) for f in form.fields if f.type != "header"]
    return values


def survey_row(spec: FormFieldSpec) -> dict[str, Any]:
    kind = {"radio": "choice", "select": "choice", "checkbox": "choice"}.get(spec.type, spec.type)
    if kind not in SURVEY_TYPES:
        kind = "question"
    options = "\n".join(str(o.get("label", o.get("value", ""))) for o in spec.options or [])
    return {"type": kind, "label": spec.label.rstrip(":").strip() or SURVEY_TYPES[kind], "required": spec.required,
            "options": options}


# --- contrast ----------------------------------------------------------------------------------------------------------


def effective_colors(themes: dict[str, Theme], values: Mapping[str, Any]) -> dict[str, str]:
    theme = themes.get(str(values.get("theme"))) or themes.get(DEFAULT_THEME) or next(iter(themes.values()))
    colors = msgspec.structs.asdict(theme.tokens.colors)
    for name, token in (("primary_color", "primary"), ("background_color", "background"), ("text_color", "text")):
        value = color_value(str(values.get(name) or ""))
        if COLOR_RE.match(value):
            colors[token] = value
            if token == "primary":
                colors["on_primary"] = readable_on(value)
    return colors


def contrast_warnings(themes: dict[str, Theme], values: Mapping[str, Any]) -> list[str]:
    """WCAG AA asks for 4.5:1 between text and its background: the launcher's icon and the visitor's bubbles on the
    primary colour, and the messages on the window's background."""
    if not themes:
        return []
    colors = effective_colors(themes, values)
    out = []
    ratio = contrast_ratio(colors["primary"], colors["on_primary"])
    if ratio < AA_TEXT:
        out.append(f"Low contrast: text on the primary colour {colors['primary']} reaches {_floor(ratio)}:1 "
                   f"(WCAG AA asks for 4.5:1). Choose a darker or lighter primary colour.")
    ratio = contrast_ratio(colors["text"], colors["background"])
    if ratio < AA_TEXT:
        out.append(f"Low contrast: the text colour {colors['text']} on the background {colors['background']} "
                   f"reaches {_floor(ratio)}:1 (WCAG AA asks for 4.5:1).")
    return out


def _floor(ratio: float) -> str:
    """Rounded down, so that a ratio just short of 4.5 never reads as 4.5."""
    return f"{math.floor(ratio * 10) / 10:.1f}"


def label_of(name: str) -> str:
    """The field's name as the page shows it, for the summary of errors at the top."""
    m = re.fullmatch(r"(prechat|postchat|ticket)-(\d+)-\w+", name)
    return f"{FORMS[m.group(1)]}, field {int(m.group(2)) + 1}" if m else LABELS.get(name, name)
