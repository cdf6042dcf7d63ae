"""The one dispatch table: action name -> request Struct, ChatCore method, transports. Web and RTM both call
``dispatch``; they only decode the envelope and encode the reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Union

import msgspec

from ..core.interface import Caller, ChatCore
from ..core.limits import check_request
from ..protocol import agent as a
from ..protocol import config as cfg
from ..protocol import configuration as cf
from ..protocol import console as cs
from ..protocol import customer as c
from ..protocol import tickets as tk
from ..protocol.errors import ApiError
from ..protocol.frames import RequestId
from ..settings import Settings

Transport = Literal["web", "rtm"]


@dataclass(frozen=True)
class Action:
    request: type
    method: str
    transports: frozenset[str] = frozenset({"web", "rtm"})
    auth: bool = True
    writes: bool = False
    """A customer's call of it stores something: counted against the per-minute write limits (``Access.may_write``)."""
    decoder: msgspec.json.Decoder = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "decoder", msgspec.json.Decoder(self.request))


_WEB = frozenset({"web"})
_RTM = frozenset({"rtm"})

_PROPERTY_ACTIONS: dict[str, Action] = {
    "update_chat_properties": Action(c.UpdateChatPropertiesRequest, "update_chat_properties", writes=True),
    "delete_chat_properties": Action(c.DeleteChatPropertiesRequest, "delete_chat_properties", writes=True),
    "update_thread_properties": Action(c.UpdateThreadPropertiesRequest, "update_thread_properties", writes=True),
    "delete_thread_properties": Action(c.DeleteThreadPropertiesRequest, "delete_thread_properties", writes=True),
    "update_event_properties": Action(c.UpdateEventPropertiesRequest, "update_event_properties", writes=True),
    "delete_event_properties": Action(c.DeleteEventPropertiesRequest, "delete_event_properties", writes=True),
}
"""Chat, thread and event properties: the same actions and requests for customers and agents."""

CUSTOMER_ACTIONS: dict[str, Action] = {
    "login": Action(c.LoginRequest, "login", _RTM),
    "list_group_statuses": Action(c.ListGroupStatusesRequest, "list_group_statuses"),
    "start_chat": Action(c.StartChatRequest, "start_chat", writes=True),
    "resume_chat": Action(c.ResumeChatRequest, "resume_chat", writes=True),
    "deactivate_chat": Action(c.DeactivateChatRequest, "deactivate_chat"),
    "list_chats": Action(c.ListChatsRequest, "list_chats"),
    "get_chat": Action(c.GetChatRequest, "get_chat"),
    "list_threads": Action(c.ListThreadsRequest, "list_threads"),
    "send_event": Action(c.SendEventRequest, "send_event", writes=True),
    "send_rich_message_postback": Action(c.SendRichMessagePostbackRequest, "send_rich_message_postback",
                                         writes=True),
    "send_sneak_peek": Action(c.SendSneakPeekRequest, "send_sneak_peek"),
    "mark_events_as_seen": Action(c.MarkEventsAsSeenRequest, "mark_events_as_seen"),
    **_PROPERTY_ACTIONS,
    "get_customer": Action(c.Empty, "get_customer"),
    "update_customer": Action(c.UpdateCustomerRequest, "update_customer", writes=True),
    "set_customer_session_fields": Action(c.SetCustomerSessionFieldsRequest, "set_customer_session_fields",
                                          writes=True),
    "update_customer_page": Action(c.UpdateCustomerPageRequest, "update_customer_page", _RTM),
    "activate_customer_page": Action(c.Empty, "activate_customer_page"),
    "deactivate_customer_page": Action(c.Empty, "deactivate_customer_page"),
    "get_form": Action(c.GetFormRequest, "get_form"),
    "send_transcript": Action(tk.SendTranscriptRequest, "send_transcript", writes=True),  # this server's extension
    "check_goals": Action(c.CheckGoalsRequest, "check_goals", _WEB),
    "accept_greeting": Action(c.AcceptGreetingRequest, "accept_greeting", writes=True),
    "cancel_greeting": Action(c.CancelGreetingRequest, "cancel_greeting"),
    "request_welcome_message": Action(c.RequestWelcomeMessageRequest, "request_welcome_message"),
    # GET on the Web API, no token (also callable over RTM after login)
    "get_dynamic_configuration": Action(cfg.DynamicConfigRequest, "get_dynamic_configuration", auth=False),
    "get_configuration": Action(cfg.ConfigurationRequest, "get_configuration", auth=False),
    "get_localization": Action(cfg.LocalizationRequest, "get_localization", auth=False),
    # v3.6 breadth
    "delete_event": Action(c.DeleteEventRequest, "delete_event", writes=True),
    "get_url_info": Action(c.GetUrlInfoRequest, "get_url_info"),  # (its own per-minute limit: core/links.py)
    "request_email_verification": Action(c.RequestEmailVerificationRequest, "request_email_verification", _WEB,
                                         writes=True),
    "send_greeting_button_clicked": Action(c.SendGreetingButtonClickedRequest, "send_greeting_button_clicked",
                                           writes=True),
    "get_predicted_agent": Action(c.Empty, "get_predicted_agent"),
    "list_license_properties": Action(c.ListLicensePropertiesRequest, "list_license_properties", _WEB, auth=False),
    "list_group_properties": Action(c.ListGroupPropertiesRequest, "list_group_properties", _WEB, auth=False),
}
"""Every customer action. ``upload_file`` is Web-only multipart and has its own route."""

ALIASES = {"activate_chat": "resume_chat"}
"""Pre-3.3 names whose payload shape did not change."""

AGENT_ACTIONS: dict[str, Action] = {
    "login": Action(a.AgentLoginRequest, "login", _RTM),
    "logout": Action(a.AgentLogoutRequest, "logout"),
    "list_chats": Action(a.AgentListChatsRequest, "list_chats"),
    "list_archives": Action(a.ListArchivesRequest, "list_archives"),
    "get_chat": Action(c.GetChatRequest, "get_chat"),
    "list_threads": Action(c.ListThreadsRequest, "list_threads"),
    "start_chat": Action(a.AgentStartChatRequest, "start_chat"),
    "resume_chat": Action(a.AgentResumeChatRequest, "resume_chat"),
    "deactivate_chat": Action(a.AgentDeactivateChatRequest, "deactivate_chat"),
    "add_user_to_chat": Action(a.AddUserToChatRequest, "add_user_to_chat"),
    "remove_user_from_chat": Action(a.RemoveUserFromChatRequest, "remove_user_from_chat"),
    "transfer_chat": Action(a.TransferChatRequest, "transfer_chat"),
    "send_event": Action(a.AgentSendEventRequest, "send_event"),
    "send_rich_message_postback": Action(c.SendRichMessagePostbackRequest, "send_rich_message_postback"),
    "send_typing_indicator": Action(a.SendTypingIndicatorRequest, "send_typing_indicator"),
    "mark_events_as_seen": Action(c.MarkEventsAsSeenRequest, "mark_events_as_seen"),
    **_PROPERTY_ACTIONS,
    "tag_thread": Action(a.TagThreadRequest, "tag_thread"),
    "untag_thread": Action(a.TagThreadRequest, "untag_thread"),
    "get_customer": Action(a.GetCustomerRequest, "get_customer"),
    "list_customers": Action(a.ListCustomersRequest, "list_customers"),
    "subscribe_customers": Action(a.SubscribeCustomersRequest, "subscribe_customers", _RTM),
    "unsubscribe_customers": Action(a.UnsubscribeCustomersRequest, "unsubscribe_customers", _RTM),
    "get_visitor_statistics": Action(a.VisitorStatisticsRequest, "get_visitor_statistics"),
    "update_customer": Action(a.AgentUpdateCustomerRequest, "update_customer"),
    "ban_customer": Action(a.BanCustomerRequest, "ban_customer"),
    "set_routing_status": Action(a.SetRoutingStatusRequest, "set_routing_status"),
    "list_routing_statuses": Action(a.ListRoutingStatusesRequest, "list_routing_statuses"),
    # tickets: this server's extension (README "Tickets")
    "list_tickets": Action(tk.ListTicketsRequest, "list_tickets"),
    "get_ticket": Action(tk.TicketIdRequest, "get_ticket"),
    "reply_ticket": Action(tk.ReplyTicketRequest, "reply_ticket"),
    "solve_ticket": Action(tk.TicketIdRequest, "solve_ticket"),
    "reopen_ticket": Action(tk.TicketIdRequest, "reopen_ticket"),
    # Agent Chat API v3.6 breadth (``upload_file`` is Web-only multipart: ``agent_web.py``)
    "follow_chat": Action(a.ChatIdRequest, "follow_chat"),
    "unfollow_chat": Action(a.ChatIdRequest, "unfollow_chat"),
    "send_event_preview": Action(a.SendEventPreviewRequest, "send_event_preview"),
    "send_thinking_indicator": Action(a.SendThinkingIndicatorRequest, "send_thinking_indicator"),
    "multicast": Action(a.MulticastRequest, "multicast"),
    "list_agents_for_transfer": Action(a.ListAgentsForTransferRequest, "list_agents_for_transfer"),
    "set_away_status": Action(a.SetAwayStatusRequest, "set_away_status", _RTM),
    "update_session": Action(a.UpdateSessionRequest, "update_session", _RTM),
    "change_push_notifications": Action(a.ChangePushNotificationsRequest, "change_push_notifications"),
    "request_thread_summary": Action(a.ThreadRequest, "request_thread_summary"),
    "get_thread_transcript": Action(a.ThreadRequest, "get_thread_transcript"),
    # canned responses: this server's extension (README "Canned responses")
    "list_canned_responses": Action(cs.ListCannedResponsesRequest, "list_canned_responses"),
    "create_canned_response": Action(cs.CreateCannedResponseRequest, "create_canned_response"),
    "update_canned_response": Action(cs.UpdateCannedResponseRequest, "update_canned_response"),
    "delete_canned_response": Action(cs.DeleteCannedResponseRequest, "delete_canned_response"),
}
"""The Agent Chat API subset; methods of AgentCore."""

CONFIGURATION_ACTIONS: dict[str, Action] = {
    name: Action(req, name, _WEB) for name, req in {
        "create_agent": cf.CreateAgentRequest, "get_agent": cf.AgentIdRequest, "list_agents": cf.ListAgentsRequest,
        "update_agent": cf.UpdateAgentRequest, "delete_agent": cf.AgentIdRequest,
        "create_group": cf.CreateGroupRequest, "get_group": cf.GroupIdRequest, "list_groups": c.Empty,
        "update_group": cf.UpdateGroupRequest, "delete_group": cf.GroupIdRequest,
        "update_group_business_hours": cf.UpdateGroupBusinessHoursRequest,
        "get_group_business_hours": cf.GetGroupBusinessHoursRequest,
        "create_bot": cf.CreateBotRequest, "get_bot": cf.BotIdRequest, "list_bots": c.Empty,
        "delete_bot": cf.BotIdRequest, "issue_bot_token": cf.IssueBotTokenRequest, "update_bot": cf.UpdateBotRequest,
        "register_webhook": cf.RegisterWebhookRequest, "list_webhooks": cf.ListWebhooksRequest,
        "unregister_webhook": cf.UnregisterWebhookRequest, "list_webhook_deliveries": cf.WebhookDeliveryLogRequest,
        "update_license_properties": cf.LicensePropertiesRequest,
        "list_license_properties": cf.ListLicensePropertiesRequest,
        "create_greeting": cf.CreateGreetingRequest, "get_greeting": cf.GreetingIdRequest,
        "list_greetings": cf.ListGreetingsRequest, "update_greeting": cf.UpdateGreetingRequest,
        "delete_greeting": cf.GreetingIdRequest,
        "get_ticket_settings": c.Empty, "update_ticket_settings": tk.UpdateTicketSettingsRequest,
        # tags (core/tags.py)
        "create_tag": cf.CreateTagRequest, "list_tags": cf.ListTagsRequest, "update_tag": cf.UpdateTagRequest,
        "delete_tag": cf.TagNameRequest,
        # customer bans (core/bans.py; ban_customer is the Agent API's)
        "list_customer_bans": c.Empty, "unban_customer": cf.UnbanCustomerRequest,
        # properties (core/properties.py)
        "register_property": cf.RegisterPropertyRequest, "unregister_property": cf.PropertyIdRequest,
        "publish_property": cf.PublishPropertyRequest, "list_properties": cf.ListPropertiesRequest,
        "delete_license_properties": cf.DeleteLicensePropertiesRequest,
        "update_group_properties": cf.UpdateGroupPropertiesRequest,
        "list_groups_properties": cf.ListGroupsPropertiesRequest,
        "delete_group_properties": cf.DeleteGroupPropertiesRequest,
        # auto access (core/auto_access.py)
        "add_auto_access": cf.AddAutoAccessRequest, "list_auto_accesses": c.Empty,
        "update_auto_access": cf.UpdateAutoAccessRequest, "delete_auto_access": cf.AutoAccessIdRequest,
        # agent lifecycle, batches, bot templates, webhook administration, the license (issue 21, part 2)
        "suspend_agent": cf.AgentIdRequest, "unsuspend_agent": cf.AgentIdRequest, "approve_agent": cf.AgentIdRequest,
        "request_agent_unsuspension": c.Empty, "reactivate_email": cf.ReactivateEmailRequest,
        **{f"batch_{verb}_agents": cf.BatchRequest
           for verb in ("create", "update", "delete", "approve", "suspend", "unsuspend")},
        **{f"batch_{verb}_bots": cf.BatchRequest for verb in ("create", "update", "delete")},
        "create_bot_template": cf.CreateBotTemplateRequest, "update_bot_template": cf.UpdateBotTemplateRequest,
        "delete_bot_template": cf.BotTemplateIdRequest, "list_bot_templates": cf.ListBotTemplatesRequest,
        "reset_bot_template_secret": cf.BotTemplateIdRequest, "reset_bot_secret": cf.ResetBotSecretRequest,
        "list_webhook_names": cf.ListWebhookNamesRequest, "enable_license_webhooks": cf.OwnerClientRequest,
        "disable_license_webhooks": cf.OwnerClientRequest, "get_license_webhooks_state": cf.OwnerClientRequest,
        "list_channels": c.Empty, "check_product_limits_for_plan": cf.CheckProductLimitsRequest,
        "get_product_source": c.Empty, "get_company_details": c.Empty, "update_company_details": cf.CompanyDetails,
    }.items()
}
"""The Configuration API subset (Web only); methods of ConfigurationCore."""

WEB_GET_ACTIONS = frozenset({"get_dynamic_configuration", "get_configuration", "get_localization",
                             "list_license_properties", "list_group_properties"})


def _frame_type(name: str, action: Action | None) -> type:
    """The RTM request frame of one action: ``{action, request_id?, version?, payload?}`` with the payload typed, so
    a whole frame is validated in one decoding pass. ``spec`` and ``name`` ride along as class attributes."""
    payload_type = action.request if action is not None else c.Empty
    return msgspec.defstruct(
        f"{name}_frame",
        [("request_id", RequestId, None), ("version", Union[str, None], None),
         ("payload", Union[payload_type, None], None)],
        tag_field="action", tag=name, kw_only=True, omit_defaults=True, namespace={"spec": action, "name": name},
    )


def _frame_decoder(actions: dict[str, Action], aliases: dict[str, str]) -> msgspec.json.Decoder:
    frames = [_frame_type(name, actions[aliases.get(name, name)]) for name in [*actions, *aliases]]
    frames.append(_frame_type("ping", None))
    return msgspec.json.Decoder(Union[tuple(frames)])  # type: ignore[valid-type]


class Table:
    """One API's actions: its dispatch entries and the decoder of its RTM frames."""

    def __init__(self, actions: dict[str, Action], aliases: dict[str, str] | None = None) -> None:
        self.actions = actions
        self.aliases = aliases or {}
        self.frame_decoder = _frame_decoder(actions, self.aliases)
        """Decodes any request frame of this API, payload included; unknown actions are validation errors."""

    def is_known(self, name: str) -> bool:
        return name in self.actions or name in self.aliases or name == "ping"

    def lookup(self, name: str, transport: Transport) -> Action:
        action = self.actions.get(self.aliases.get(name, name))
        if action is None:
            raise ApiError("validation", f"Unknown action: {name[:64]}")
        check_transport(name, action, transport)
        return action


CUSTOMER = Table(CUSTOMER_ACTIONS, ALIASES)
AGENT = Table(AGENT_ACTIONS)
CONFIGURATION = Table(CONFIGURATION_ACTIONS)
frame_decoder = CUSTOMER.frame_decoder


def payload_of(frame: Any, settings: Settings) -> Any:
    """The frame's request Struct, within the free-form limits; an absent or null payload is ``{}``, validated like
    any other."""
    if frame.payload is not None:
        check_request(frame.payload, settings)
        return frame.payload
    try:
        return msgspec.convert({}, frame.spec.request)
    except msgspec.ValidationError as exc:
        raise ApiError("validation", f"{exc} (payload)") from None


def check_transport(name: str, action: Action, transport: Transport) -> None:
    if transport not in action.transports:
        where = "the RTM API" if transport == "rtm" else "the Web API"
        raise ApiError("validation", f"Action {name} is not available on {where}")


def lookup(name: str, transport: Transport) -> Action:
    return CUSTOMER.lookup(name, transport)


def decode(action: Action, payload: bytes | None, settings: Settings) -> Any:
    """The action's request Struct; any malformed or invalid body, or one over the free-form limits
    (``core/limits.py``), becomes a ``validation`` error."""
    request = decode_json(action.decoder, payload if payload else b"{}")
    check_request(request, settings)
    return request


def decode_json(decoder: msgspec.json.Decoder, data: bytes) -> Any:
    """Decode untrusted JSON: wrong types and missing fields name the field; bytes that are not UTF-8 and nesting
    deeper than msgspec's recursion limit are refused the same way instead of escaping as 500s."""
    try:
        data.decode("utf-8")
        return decoder.decode(data)
    except msgspec.ValidationError as exc:
        raise ApiError("validation", str(exc)) from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ApiError("validation", f"Malformed JSON: {exc}") from None
    except RecursionError:
        raise ApiError("validation", "Malformed JSON: nested too deeply") from None


def convert(action: Action, params: dict[str, Any], settings: Settings) -> Any:
    """The request Struct from query parameters (GET endpoints), strings coerced to the declared types."""
    try:
        request = msgspec.convert(params, action.request, strict=False)
    except msgspec.ValidationError as exc:
        raise ApiError("validation", str(exc)) from None
    check_request(request, settings)
    return request


async def dispatch(core: ChatCore, caller: Caller, action: Action, request: Any) -> Any:
    return await getattr(core, action.method)(caller, request)
