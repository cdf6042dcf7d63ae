"""Languages, directions and colour schemes of the chat frame (issue 18), through the frame's configuration
(``GET /v1/widget/config``) of a real server: the default forms' labels in the visitor's language (English exactly the
Customer API's defaults), Arabic right to left, the ``auto`` theme's two palettes, and the wizard's preview, which
never carries the owner's own browser's chats."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from widget_server.core.local import DEFAULT_POSTCHAT, DEFAULT_PRECHAT, DEFAULT_TICKET
from widget_server.protocol.config import Appearance, FormSetting, LicenseConfig
from widget_server.protocol.customer import Form, FormFieldSpec
from widget_server.widget.locales import LANGUAGES, TEXTS, default_forms

from .conftest import new_license
from .test_wizard import make_owner


@pytest.fixture
async def http(server):
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


async def static_config(http: httpx.AsyncClient, org: str, lang: str) -> dict:
    r = await http.get("/v1/widget/config", params={"organization_id": org}, headers={"Accept-Language": lang})
    assert r.status_code == 200, r.text
    return r.json()["static"]


def labels(form: dict) -> list[str]:
    return [f["label"] for f in form["fields"]]


def shape(form: Form | dict) -> list[tuple]:
    fields = form.fields if isinstance(form, Form) else [FormFieldSpec(**f) for f in form["fields"]]
    return [(f.id, f.type, f.required) for f in fields]


def test_english_default_forms_are_the_customer_api_s_and_every_language_keeps_their_fields():
    assert default_forms("en") == (DEFAULT_PRECHAT, DEFAULT_POSTCHAT, DEFAULT_TICKET)
    assert "ar" in LANGUAGES
    for lang in LANGUAGES:
        for form, english in zip(default_forms(lang), (DEFAULT_PRECHAT, DEFAULT_POSTCHAT, DEFAULT_TICKET), strict=True):
            assert form.id == english.id and shape(form) == shape(english), lang
            assert all(f.label for f in form.fields), lang
    # every language but English says the header, the message field and the survey's questions in its own words
    for lang in set(LANGUAGES) - {"en"}:
        prechat, postchat, ticket = default_forms(lang)
        english = [*labels_of(DEFAULT_PRECHAT)[:1], *labels_of(DEFAULT_POSTCHAT), *labels_of(DEFAULT_TICKET)[::3]]
        assert set(english).isdisjoint([*labels_of(prechat)[:1], *labels_of(postchat), *labels_of(ticket)[::3]]), lang


def labels_of(form: Form) -> list[str]:
    return [f.label for f in form.fields]


async def test_the_frame_gets_the_default_forms_in_the_visitor_s_language(http, valkey):
    org = await new_license(valkey, LicenseConfig(prechat=FormSetting(enabled=True),
                                                  postchat=FormSetting(enabled=True)))
    english = await static_config(http, org, "en-GB")
    assert english["ticket_form"] == {"id": "ticket", "fields": [
        {"id": "header", "type": "header", "label": "We are offline. Leave a message and we'll reply by e-mail."},
        {"id": "name", "type": "name", "label": "Name:"},
        {"id": "email", "type": "email", "label": "E-mail:", "required": True},
        {"id": "message", "type": "textarea", "label": "Message:", "required": True}]}
    assert "direction" not in english  # left to right: not sent

    german = await static_config(http, org, "de-DE,de;q=0.9")
    assert labels(german["ticket_form"])[1:] == ["Name:", "E-Mail:", "Nachricht:"]
    assert labels(german["prechat_form"])[0] == "Willkommen! Erzählen Sie uns kurz etwas über sich."
    assert labels(german["postchat_form"]) == ["Wie bewerten Sie diesen Chat?", "Was könnten wir besser machen?"]
    for lang in ("es", "fr", "pl", "ar"):
        static = await static_config(http, org, lang)
        assert static["language"] == lang
        assert labels(static["ticket_form"]) == labels_of(default_forms(lang)[2])
        assert labels(static["ticket_form"])[3] == TEXTS[lang]["form_message"] != "Message:"


async def test_arabic_is_right_to_left_and_an_owner_s_own_form_stays_as_written(http, valkey):
    own = Form(id="ticket", fields=[FormFieldSpec(id="q", type="textarea", label="Your order number?",
                                                  required=True)])
    org = await new_license(valkey, LicenseConfig(ticket=FormSetting(enabled=True, form=own)))
    arabic = await static_config(http, org, "ar-EG,ar;q=0.9,en;q=0.5")
    assert arabic["language"] == "ar" and arabic["direction"] == "rtl"
    assert arabic["texts"]["send"] == "إرسال" and arabic["title"] == "تحدث معنا"
    assert labels(arabic["ticket_form"]) == ["Your order number?"]
    # the owner fixes the language: Arabic whatever the browser says
    fixed = await new_license(valkey, LicenseConfig(appearance=Appearance(language="ar")))
    assert (await static_config(http, fixed, "de"))["direction"] == "rtl"
    frame = await http.get("/widget/frame", params={"organization_id": fixed}, headers={"Accept-Language": "de"})
    assert frame.status_code == 200 and '<html lang="ar">' in frame.text


async def test_the_auto_theme_sends_a_dark_palette_and_other_themes_none(http, valkey):
    auto = await new_license(valkey, LicenseConfig(appearance=Appearance(theme="auto", primary_color="#e11d48")))
    theme = (await static_config(http, auto, "en"))["theme"]
    assert theme["name"] == "auto" and theme["css"].startswith("/widget/assets/theme-auto.")
    assert theme["variables"]["--ws-background"] == "#ffffff"
    assert theme["dark_variables"]["--ws-background"] == "#0f172a"
    assert theme["dark_variables"]["--ws-text"] == "#e2e8f0"
    # the owner's brand colour is the primary colour of both palettes
    assert theme["variables"]["--ws-primary"] == theme["dark_variables"]["--ws-primary"] == "#e11d48"
    assert set(theme["variables"]) == set(theme["dark_variables"])
    classic = await new_license(valkey)
    assert "dark_variables" not in (await static_config(http, classic, "en"))["theme"]


async def test_the_preview_never_carries_the_owner_s_own_chats(http, server, valkey):
    owner = await make_owner(valkey, server.url)
    try:
        assert (await owner.sign_in()).status_code == 303
        token = re.search(r'data-preview="([^"]+)"', (await owner.http.get("/wizard/preview")).text).group(1)
        # the owner's browser is a visitor too (the preview page's loader holds its token), with a chat of its own
        body = {"type": "visit", "cfg": {"organization_id": owner.org, "group": 0, "preview": token},
                "url": f"{server.url}/wizard/preview", "title": "Preview"}
        visit = await http.post("/v1/widget/visit", headers={"Content-Type": "text/plain", "Origin": server.url},
                                content=json.dumps(body).encode())
        assert visit.status_code == 200, visit.text
        visitor_token = visit.json()["token"]
        started = await http.post(f"/v3.6/customer/action/start_chat?organization_id={owner.org}",
                                  json={"chat": {"thread": {"events": [{"type": "message", "text": "my own test"}]}}},
                                  headers={"Authorization": f"Bearer {visitor_token}"})
        assert started.status_code == 200, started.text
        auth = {"Authorization": f"Bearer {visitor_token}"}
        site = await http.get("/v1/widget/config", params={"organization_id": owner.org}, headers=auth)
        assert [c["id"] for c in site.json()["visitor"]["chats"]] == [started.json()["chat_id"]]  # a visitor's view
        preview = await http.get("/v1/widget/config", params={"organization_id": owner.org, "preview": token},
                                 headers=auth)
        assert preview.status_code == 200
        assert preview.json()["visitor"] == {"online": False, "chats": []}  # no chats, no customer
    finally:
        await owner.http.aclose()
