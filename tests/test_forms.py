"""The owner's forms through the Customer API: ``get_form`` answers the pre-chat, post-chat and offline (ticket)
forms as configured, and a post-chat survey's answers are a ``filled_form`` event whose rating question rates the
chat exactly as the widget's rating card does (thread properties ``rating``)."""

from __future__ import annotations

import secrets

import pytest

from tests.support import AgentClient, CustomerClient
from widget_server.bootstrap import create_license

PRECHAT = {"id": "pre", "fields": [{"id": "n", "type": "name", "label": "Your name", "required": True}]}
POSTCHAT = {"id": "post", "fields": [
    {"id": "r", "type": "rating", "label": "How was it?"},
    {"id": "why", "type": "question", "label": "Anything we could do better?"}]}
TICKET = {"id": "offline", "fields": [
    {"id": "e", "type": "email", "label": "Your e-mail", "required": True},
    {"id": "m", "type": "textarea", "label": "Your message", "required": True}]}


@pytest.fixture
async def owner(server, valkey):
    creds = await create_license(valkey, f"owner-{secrets.token_hex(4)}@example.com", "pw")
    owner = AgentClient(server.url, creds["owner"]["account_id"], creds["owner"]["personal_access_token"])
    owner.org = creds["organization_id"]  # type: ignore[attr-defined]
    yield owner
    await owner.aclose()


async def set_forms(owner: AgentClient, **forms) -> None:
    r = await owner.http.post("/v3.6/configuration/action/update_license_properties",
                              json={"properties": {"widget": forms}},
                              headers={"Authorization": f"Bearer {owner.token}"})
    assert r.status_code == 200, r.text


async def test_get_form_answers_each_form_the_owner_configured(owner, server):
    customer = await CustomerClient(server.url, owner.org).authorize()
    try:
        # nothing configured: no surveys, and the offline form is the default one (it is always shown offline)
        assert await customer.ok("get_form", {"group_id": 0, "type": "prechat"}) == {"enabled": False}
        assert await customer.ok("get_form", {"group_id": 0, "type": "postchat"}) == {"enabled": False}
        default_ticket = await customer.ok("get_form", {"group_id": 0, "type": "ticket"})
        assert default_ticket["enabled"] is True and default_ticket["form"]["id"] == "ticket"
        assert any(f["type"] == "email" for f in default_ticket["form"]["fields"])

        await set_forms(owner, prechat_form={"enabled": True, "form": PRECHAT},
                        postchat_form={"enabled": True, "form": POSTCHAT},
                        ticket_form={"enabled": True, "form": TICKET})
        assert await customer.ok("get_form", {"group_id": 0, "type": "prechat"}) == {"enabled": True, "form": PRECHAT}
        assert await customer.ok("get_form", {"group_id": 0, "type": "postchat"}) == {"enabled": True,
                                                                                    "form": POSTCHAT}
        for name in ("ticket", "offline"):
            assert await customer.ok("get_form", {"group_id": 0, "type": name}) == {"enabled": True, "form": TICKET}
        # the same forms as get_configuration hands the widget
        static = (await customer.http.get("/v3.6/customer/action/get_configuration",
                                          params={"organization_id": owner.org})).json()
        assert (static["prechat_form"], static["postchat_form"], static["ticket_form"]) == (PRECHAT, POSTCHAT, TICKET)

        # a survey turned off is off; bad requests get LiveChat's typed errors
        await set_forms(owner, postchat_form={"enabled": False, "form": POSTCHAT})
        assert await customer.ok("get_form", {"group_id": 0, "type": "postchat"}) == {"enabled": False}
        r = await customer.call("get_form", {"group_id": 0, "type": "survey"})
        assert r.status_code == 400 and r.json()["error"]["type"] == "validation"
        r = await customer.call("get_form", {"group_id": 9, "type": "ticket"})
        assert r.json()["error"]["type"] == "group_not_found"
    finally:
        await customer.aclose()


def survey(rating, comment: str = "", form_type: str = "postchat", custom_id: str | None = None) -> dict:
    event = {"type": "filled_form", "form_id": "post", "form_type": form_type, "fields": [
        {"type": "rating", "id": "r", "label": "How was it?", "answer": rating},
        {"type": "question", "id": "why", "label": "Anything we could do better?", "answer": comment}]}
    if custom_id:
        event["custom_id"] = custom_id
    return event


async def rating_of(customer: CustomerClient, chat_id: str, thread_id: str):
    thread = (await customer.ok("get_chat", {"chat_id": chat_id, "thread_id": thread_id}))["thread"]
    return thread["properties"].get("rating"), thread["events"]


async def test_a_postchat_survey_is_stored_and_rates_the_closed_chat(customer: CustomerClient, server):
    started = await customer.ok("start_chat", {"chat": {"thread": {"events": [{"type": "message", "text": "hi"}]}}})
    chat_id, thread_id = started["chat_id"], started["thread_id"]
    sock = await customer.rtm()
    try:
        await customer.ok("deactivate_chat", {"id": chat_id})
        # the closed chat takes the survey (LiveChat's attach_to_last_thread), stored as a postchat filled_form
        sent = await customer.ok("send_event", {"chat_id": chat_id, "attach_to_last_thread": True,
                                                "event": survey({"id": "bad", "label": "Bad"}, "  Too slow  ",
                                                                custom_id="survey-1")})
        assert sent["event_id"].startswith(thread_id)
        rating, events = await rating_of(customer, chat_id, thread_id)
        assert rating == {"score": 0, "comment": "Too slow"}
        [form] = [e for e in events if e["type"] == "filled_form"]
        assert form["form_type"] == "postchat" and form["fields"][0]["answer"] == {"id": "bad", "label": "Bad"}
        pushed = await sock.push("thread_properties_updated", timeout=10)
        assert pushed["payload"] == {"chat_id": chat_id, "thread_id": thread_id,
                                     "properties": {"rating": {"score": 0, "comment": "Too slow"}}}

        # a client that lost the answer resends the same survey: one event, and the rating is there again even if
        # the first try died before writing it (here: the rating was removed in between)
        await customer.ok("delete_thread_properties", {"chat_id": chat_id, "thread_id": thread_id,
                                                       "properties": {"rating": ["score", "comment"]}})
        again = await customer.ok("send_event", {"chat_id": chat_id, "attach_to_last_thread": True,
                                                 "event": survey({"id": "bad", "label": "Bad"}, "Too slow",
                                                                 custom_id="survey-1")})
        assert again == sent
        rating, events = await rating_of(customer, chat_id, thread_id)
        assert rating == {"score": 0, "comment": "Too slow"}
        assert sum(e["type"] == "filled_form" for e in events) == 1

        # a later survey changes it ("good" as a plain answer too); its comment is bounded
        await customer.ok("send_event", {"chat_id": chat_id, "attach_to_last_thread": True,
                                         "event": survey("good", "x" * 900)})
        rating, _ = await rating_of(customer, chat_id, thread_id)
        assert rating == {"score": 1, "comment": "x" * 500}

        # what does not rate: a survey whose rating was skipped or is nonsense, a pre-chat form with a rating field
        for event in (survey("", "no rating"), survey({"id": "great"}), survey(True),
                      survey("bad", form_type="prechat")):
            await customer.ok("send_event", {"chat_id": chat_id, "attach_to_last_thread": True, "event": event})
        rating, events = await rating_of(customer, chat_id, thread_id)
        assert rating == {"score": 1, "comment": "x" * 500}
        assert sum(e["type"] == "filled_form" for e in events) == 6
    finally:
        await sock.close()
