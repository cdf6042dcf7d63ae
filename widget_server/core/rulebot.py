"""The built-in rule bot. It is a webhook consumer like any third-party bot: it receives ``user_added_to_chat``,
``incoming_event`` and ``incoming_rich_message_postback`` deliveries (through the same stream, consumer group and
retries) and answers through AgentCore's actions as the bot, exactly what the Agent API does for a bot token.
Its rules live in the bot's record (``create_bot`` / ``update_bot`` with ``rules``)."""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from ..protocol import agent as a
from ..protocol.configuration import BotRules, Webhook
from ..protocol.events import Message, RichButton, RichElement, RichMessage
from ..protocol.errors import ApiError
from .agents import AgentCaller, AgentCore

log = logging.getLogger("widget_server.rulebot")

URL_PREFIX = "internal://rulebot/"
ACTIONS = ("user_added_to_chat", "incoming_event", "incoming_rich_message_postback")
HANDOVER = "handover"


def webhooks_for(bot_id: str) -> list[Webhook]:
    return [Webhook(id=f"rulebot-{bot_id}-{action}", action=action, secret_key=bot_id, url=URL_PREFIX + bot_id,
                    owner_client_id=f"rulebot:{bot_id}", type="bot", additional_data=["chat_presence_user_ids"])
            for action in ACTIONS]


class RuleBot:
    def __init__(self, agent_core: AgentCore) -> None:
        self.core = agent_core

    async def handle(self, hook: Webhook, body: bytes) -> None:
        envelope = msgspec.json.decode(body)
        org, bot_id = envelope["organization_id"], hook.url.removeprefix(URL_PREFIX)
        bot = (await self.core.store.agents(org, [bot_id])).get(bot_id)
        if bot is None or not bot.get("rules"):
            return
        rules = msgspec.convert(bot["rules"], BotRules)
        payload = envelope["payload"]
        present = envelope.get("additional_data", {}).get("chat_presence_user_ids", [])
        caller = AgentCaller(org=org, agent_id=bot_id, role="normal", version="3.6", transport="web", base_url="")
        action = envelope["action"]
        try:
            if action == "user_added_to_chat" and payload["user"]["id"] == bot_id:
                await self._send(caller, payload["chat_id"], self._menu(rules, rules.greeting))
            elif bot_id not in present:
                return
            elif action == "incoming_event":
                event = payload["event"]
                if event.get("author_id") == bot_id or event.get("type") != "message" or not present:
                    return
                if event.get("author_id") != present[0]:  # only the customer's messages
                    return
                await self._answer(caller, rules, payload["chat_id"], event.get("text", ""))
            elif action == "incoming_rich_message_postback":
                postback_id = payload["postback"]["id"]
                if postback_id == HANDOVER:
                    await self._handover(caller, rules, payload["chat_id"])
                elif postback_id.startswith("menu:"):
                    index = int(postback_id.removeprefix("menu:"))
                    if 0 <= index < len(rules.menu):
                        await self._answer(caller, rules, payload["chat_id"], rules.menu[index])
        except ApiError as exc:  # e.g. the chat ended meanwhile: nothing to answer
            log.info("rule bot %s: %s %s", bot_id, exc.type, exc.message)

    @staticmethod
    def _menu(rules: BotRules, title: str) -> RichMessage:
        buttons = [RichButton(text=label, type="message", value=label, postback_id=f"menu:{i}")
                   for i, label in enumerate(rules.menu)]
        buttons.append(RichButton(text=rules.handover_button, type="message", value=rules.handover_button,
                                  postback_id=HANDOVER))
        return RichMessage(template_id="quick_replies", elements=[RichElement(title=title, buttons=buttons)])

    async def _send(self, caller: AgentCaller, chat_id: str, event: Any) -> None:
        await self.core.send_event(caller, a.AgentSendEventRequest(chat_id=chat_id, event=event))

    async def _answer(self, caller: AgentCaller, rules: BotRules, chat_id: str, text: str) -> None:
        said = text.casefold()
        if said == rules.handover_button.casefold() or any(p.casefold() in said for p in rules.handover_phrases):
            await self._handover(caller, rules, chat_id)
            return
        for rule in rules.answers:
            if any(k.casefold() in said for k in rule.keywords):
                await self._send(caller, chat_id, Message(text=rule.answer))
                return
        if rules.menu and said in (m.casefold() for m in rules.menu):
            return  # a menu label with no answer configured: stay quiet rather than loop the fallback
        await self._send(caller, chat_id, self._menu(rules, rules.fallback))

    async def _handover(self, caller: AgentCaller, rules: BotRules, chat_id: str) -> None:
        await self._send(caller, chat_id, Message(text=rules.handover_message))
        await self.core.transfer_chat(caller, a.TransferChatRequest(id=chat_id, ignore_agents_availability=True))
