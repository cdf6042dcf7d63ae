"""Widget bootstrap: dynamic configuration (3.6 nests it under ``livechat``; 3.5 is flat), static configuration,
localization, and the license configuration they are built from."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from .customer import Form


class DynamicConfigRequest(msgspec.Struct, omit_defaults=True):
    organization_id: str | None = None
    license_id: str | None = None
    group_id: Annotated[int, msgspec.Meta(ge=0)] | None = None
    url: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    channel_type: str | None = None
    test: bool | None = None


class LiveChatDynamic(msgspec.Struct):
    group_id: int
    client_limit_exceeded: bool
    domain_allowed: bool
    online_group_ids: list[int]
    config_version: str
    localization_version: str
    language: str


class DynamicConfig36(msgspec.Struct):
    organization_id: str
    default_widget: str
    livechat_active: bool
    livechat: LiveChatDynamic


class DynamicConfig35(msgspec.Struct):
    organization_id: str
    default_widget: str
    livechat_active: bool
    group_id: int
    client_limit_exceeded: bool
    domain_allowed: bool
    online_group_ids: list[int]
    config_version: str
    localization_version: str
    language: str


class ConfigurationRequest(msgspec.Struct, omit_defaults=True):
    group_id: Annotated[int, msgspec.Meta(ge=0)] = 0
    version: str | None = None


class Button(msgspec.Struct):
    id: str
    type: str
    online_value: str
    offline_value: str


class ConfigurationProperties(msgspec.Struct):
    group: dict[str, Any]
    license: dict[str, Any]


class Configuration(msgspec.Struct, omit_defaults=True):
    buttons: list[Button]
    integrations: dict[str, Any]
    properties: ConfigurationProperties
    prechat_form: Form | None = None
    ticket_form: Form | None = None
    postchat_form: Form | None = None


class LocalizationRequest(msgspec.Struct, omit_defaults=True):
    group_id: Annotated[int, msgspec.Meta(ge=0)] = 0
    language: str = "en"
    version: str | None = None


class Group(msgspec.Struct, omit_defaults=True):
    id: Annotated[int, msgspec.Meta(ge=0)]
    name: str
    language: str = "en"


class FormSetting(msgspec.Struct, omit_defaults=True):
    enabled: bool
    form: Form | None = None


class LicenseConfig(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What a site owner configures for a license (the wizard and Configuration API edit this)."""

    groups: list[Group] = msgspec.field(default_factory=lambda: [Group(id=0, name="General")])
    allowed_origins: list[str] = msgspec.field(default_factory=list)
    """Exact origins (``https://shop.example``) allowed to embed the widget and call the API; empty = any."""
    language: str = "en"
    prechat: FormSetting | None = None
    postchat: FormSetting | None = None
    ticket: FormSetting | None = None
    license_properties: dict[str, Any] = msgspec.field(default_factory=dict)
