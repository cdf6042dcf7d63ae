"""The Configuration API's webhook administration and the license's own details (issue 21), as a part of
``ConfigurationCore``.

* License webhooks are enabled until ``disable_license_webhooks`` (per owner client id): LiveChat enables an
  application's license webhooks when it is installed, and a self-hosted license registers its webhooks itself, so
  registering is installing. Disabled ones are not sent (nor kept to send later); bot webhooks always are.
* A self-hosted server has no plans, products or billing: ``check_product_limits_for_plan`` finds no resource over
  any plan's limit (``[]``), and ``get_product_source`` names this server as the license's source.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .. import keys
from ..protocol import configuration as cf
from ..protocol import customer as c
from ..protocol.common import now_rfc3339

_EMPTY = c.Empty()


class LicenseAdmin:
    """Mixed into ``ConfigurationCore``: uses its store and webhooks."""

    store: Any
    webhooks: Any

    # --- webhooks ------------------------------------------------------------------------------------------------

    async def list_webhook_names(self, caller: Any, req: cf.ListWebhookNamesRequest) -> list[cf.WebhookName]:
        """Every action ``register_webhook`` accepts (each of them is sent by this server), with the filters and
        additional data LiveChat lists for it."""
        return [cf.WebhookName(action=action, filters=list(cf.webhook_filters(action)),
                               additional_data=list(cf.webhook_additional_data(action)))
                for action in sorted(cf.WEBHOOK_ACTIONS)]

    async def enable_license_webhooks(self, caller: Any, req: cf.OwnerClientRequest) -> c.Empty:
        await self.webhooks.set_enabled(caller.org, req.owner_client_id, True)
        return _EMPTY

    async def disable_license_webhooks(self, caller: Any, req: cf.OwnerClientRequest) -> c.Empty:
        await self.webhooks.set_enabled(caller.org, req.owner_client_id, False)
        return _EMPTY

    async def get_license_webhooks_state(self, caller: Any, req: cf.OwnerClientRequest) -> cf.LicenseWebhooksState:
        return cf.LicenseWebhooksState(license_webhooks_enabled=await self.webhooks.enabled(caller.org,
                                                                                           req.owner_client_id))

    # --- the license ---------------------------------------------------------------------------------------------

    async def list_channels(self, caller: Any, req: c.Empty) -> list[cf.Channel]:
        """The one channel of a self-hosted license: the widget's code on the owner's site (``code``), active since
        the license was made."""
        license_rec = await self.store.license(caller.org) or {}
        return [cf.Channel(channel_type="code", channel_subtype="",
                           first_activity_timestamp=license_rec.get("created_at") or now_rfc3339())]

    async def check_product_limits_for_plan(self, caller: Any,
                                            req: cf.CheckProductLimitsRequest) -> list[cf.ProductLimit]:
        """No plan limits anything here: no resource exceeds any plan's limit."""
        return []

    async def get_product_source(self, caller: Any, req: c.Empty) -> cf.ProductSource:
        return cf.ProductSource(source_id="widget_server", source_type="self_hosted", source_url="")

    async def update_company_details(self, caller: Any, req: cf.CompanyDetails) -> c.Empty:
        """Fields given replace the saved ones (each at most 256 characters, ``url`` 2048); ``enrich`` is not kept."""
        fields = {k: v for k, v in msgspec.to_builtins(req).items() if k != "enrich" and v is not None}
        if fields:
            await self.store.r.hset(keys.company(caller.org), mapping=fields)
        return _EMPTY

    async def get_company_details(self, caller: Any, req: c.Empty) -> cf.CompanyDetails:
        raw = await self.store.r.hgetall(keys.company(caller.org))
        fields = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
                  for k, v in raw.items()}
        return msgspec.convert({k: v for k, v in fields.items() if k in cf.CompanyDetails.__struct_fields__},
                               cf.CompanyDetails)
