"""Tags: the labels agents put on threads. The Configuration API's ``create_tag``, ``list_tags``, ``update_tag`` and
``delete_tag`` (LiveChat 3.6), their ``tag_*`` pushes to the license's agents and webhooks, and the rule
``tag_thread`` applies: a thread takes a tag only when the tag and the chat share a group.

A license's tags are one JSON list under ``keys.tags``, changed by compare-and-set (``Store.update_json_document``),
so two owners editing tags at once both keep their change. Names are unique regardless of case when a tag is
created (LiveChat's rule); ``update_tag``, ``delete_tag`` and ``tag_thread`` match a name exactly.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .. import keys
from ..auth.rules import ADMIN_ROLES
from ..protocol import configuration as cf
from ..protocol import customer as c
from ..protocol.common import now_rfc3339
from ..protocol.errors import ApiError
from .bus import Bus
from .limits import MAX_TAGS
from .store import Store
from .webhooks import Webhooks

_EMPTY = c.Empty()
_tags_decoder = msgspec.json.Decoder(list[cf.Tag])


async def read_tags(store: Store, org: str) -> list[cf.Tag]:
    """The license's tags, oldest first."""
    raw = await store.r.get(keys.tags(org))
    return _tags_decoder.decode(raw) if raw else []


def check_usable(tags: list[cf.Tag], name: str, chat_groups: set[int]) -> None:
    """``tag_thread``'s rule: a ``validation`` error unless ``name`` is a tag of one of the chat's groups."""
    tag = next((t for t in tags if t.name == name), None)
    if tag is None:
        raise ApiError("validation", f"tag: {name[:64]} is not a tag of this license (create_tag)")
    if not chat_groups & set(tag.group_ids):
        raise ApiError("validation", f"tag: {name[:64]} is not a tag of the chat's groups")


async def announce(bus: Bus, webhooks: Webhooks, org: str, action: str, payload: Any) -> None:
    """A configuration change every agent of the license hears (one message on the license's agents feed) and the
    license's webhooks registered for ``action`` receive."""
    await bus.publish([keys.agents_feed(org)], action, payload)
    await webhooks.emit(org, action, payload)


class TagsConfiguration:
    """The tag methods of ``ConfigurationCore`` (a mixin: it uses the core's store, bus and webhooks)."""

    store: Store
    bus: Bus
    webhooks: Webhooks

    async def _tag_groups(self, org: str, group_ids: list[int]) -> list[int]:
        known = {g.id for g in (await self.store.license_config(org)).groups}
        for gid in group_ids:
            if gid not in known:
                raise ApiError("group_not_found", f"Group {gid} not found", {"group_id": gid})
        return sorted(set(group_ids))

    async def create_tag(self, caller: Any, req: cf.CreateTagRequest) -> c.Empty:
        tag = cf.Tag(name=req.name, group_ids=await self._tag_groups(caller.org, req.group_ids),
                     author_id=caller.agent_id, created_at=now_rfc3339())

        def add(tags: list[cf.Tag]) -> None:
            if any(t.name.lower() == req.name.lower() for t in tags):
                raise ApiError("already_exists", f"Tag {req.name} already exists")
            if len(tags) >= MAX_TAGS:
                raise ApiError("limit_reached", f"A license has at most {MAX_TAGS} tags")
            tags.append(tag)

        await self.store.update_json_document(keys.tags(caller.org), _tags_decoder, add, list)
        await announce(self.bus, self.webhooks, caller.org, "tag_created", tag)
        return _EMPTY

    async def list_tags(self, caller: Any, req: cf.ListTagsRequest) -> list[cf.Tag]:
        """An administrator's call lists every tag; any other agent's (``list_tags`` is open to them, for the tags they
        may put on threads) only the tags of their groups, as LiveChat's ``tags--groups:ro``."""
        tags = await read_tags(self.store, caller.org)
        if req.filters is not None:
            wanted = set(req.filters.group_ids)
            tags = [t for t in tags if wanted & set(t.group_ids)]
        if caller.role not in ADMIN_ROLES:
            me = (await self.store.agents(caller.org, [caller.agent_id])).get(caller.agent_id) or {}
            mine = {int(g["id"]) for g in me.get("groups", [])}
            tags = [t for t in tags if mine & set(t.group_ids)]
        return tags

    async def update_tag(self, caller: Any, req: cf.UpdateTagRequest) -> c.Empty:
        groups = await self._tag_groups(caller.org, req.group_ids) if req.group_ids is not None else None

        def update(tags: list[cf.Tag]) -> list[int]:
            tag = next((t for t in tags if t.name == req.name), None)
            if tag is None:
                raise ApiError("not_found", f"Tag {req.name} not found")
            if groups is not None:
                tag.group_ids = groups
            return tag.group_ids

        now_groups = await self.store.update_json_document(keys.tags(caller.org), _tags_decoder, update, list)
        await announce(self.bus, self.webhooks, caller.org, "tag_updated", cf.TagUpdated(req.name, now_groups))
        return _EMPTY

    async def delete_tag(self, caller: Any, req: cf.TagNameRequest) -> c.Empty:
        """Threads tagged with it keep the tag (``untag_thread`` still takes it off)."""

        def delete(tags: list[cf.Tag]) -> None:
            if not any(t.name == req.name for t in tags):
                raise ApiError("not_found", f"Tag {req.name} not found")
            tags[:] = [t for t in tags if t.name != req.name]

        await self.store.update_json_document(keys.tags(caller.org), _tags_decoder, delete, list)
        await announce(self.bus, self.webhooks, caller.org, "tag_deleted", cf.TagDeleted(req.name))
        return _EMPTY
