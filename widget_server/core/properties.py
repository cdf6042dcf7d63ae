"""Registered properties and license and group property values (Configuration API ``register_property``,
``unregister_property``, ``publish_property``, ``list_properties``, ``delete_license_properties``,
``update_group_properties``, ``list_groups_properties``, ``delete_group_properties``), and the check every property
write goes through (``check_values``).

Properties stay free-form unless registered: a value of a registered property is checked where it is written (a
chat's, a thread's or an event's by the chat APIs, the license's and groups' here) against its definition, as
LiveChat checks it: the property must live in that location, the writer (agent or customer) must have the ``write``
right there, and the value must be of its type and within its domain or range. Definitions and license and group
values are kept in the license configuration (``LicenseConfig``), which every worker caches, so a check costs no
Valkey call; their size is bounded (``core/limits.py``) because every page view reads that configuration.
"""

from __future__ import annotations

from typing import Any, Literal

from .. import keys
from ..protocol import configuration as cf
from ..protocol import customer as c
from ..protocol.config import LicenseConfig, PropertyDefinition
from ..protocol.errors import ApiError
from .bus import Bus
from .limits import MAX_CONFIG_PROPERTIES_BYTES, MAX_PROPERTY_DEFINITIONS, check_config_part
from .store import Store

_EMPTY = c.Empty()
INT32 = (-(2**31), 2**31 - 1)
Writer = Literal["agent", "customer"]


def _type_error(defn: PropertyDefinition, value: Any) -> str | None:
    """Why ``value`` is not of the property's type (None when it is)."""
    if defn.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return "an int"
        if not INT32[0] <= value <= INT32[1]:
            return "an int32"
    elif defn.type == "bool":
        if not isinstance(value, bool):
            return "a bool"
    elif not isinstance(value, str):  # string, tokenized_string
        return "a string"
    return None


def check_value(defn: PropertyDefinition, value: Any, where: str) -> None:
    """A ``validation`` error unless ``value`` fits the definition's type, domain and range."""
    wanted = _type_error(defn, value)
    if wanted is not None:
        raise ApiError("validation", f"{where}: expected {wanted} ({defn.type} property)")
    if defn.domain is not None and value not in defn.domain:
        raise ApiError("validation", f"{where}: not one of the property's domain")
    if defn.range is not None:
        low, high = defn.range.from_, defn.range.to
        if (low is not None and value < low) or (high is not None and value > high):
            raise ApiError("validation", f"{where}: outside the property's range")


def check_values(config: LicenseConfig, location: str, writer: Writer | None, props: dict[str, dict[str, Any]],
                 where: str = "properties") -> None:
    """Check the registered properties among ``props`` written in ``location`` (``chat``, ``thread``, ``event``,
    ``license``, ``group``) by ``writer`` (None: an administrator through the Configuration API, whose writes are
    not limited by the agent and customer rights). Unregistered properties pass."""
    definitions = config.property_definitions
    if not definitions:
        return
    for ns, values in props.items():
        registered = definitions.get(ns)
        if not registered or not isinstance(values, dict):
            continue
        for name, value in values.items():
            defn = registered.get(name)
            if defn is None:
                continue
            at = f"{where}.{ns}.{name}"
            rights = defn.access.get(location)  # type: ignore[call-overload]
            if rights is None:
                raise ApiError("validation", f"{at}: not a {location} property")
            if writer is not None and "write" not in (getattr(rights, writer) or ()):
                raise ApiError("validation", f"{at}: {writer}s may not write it in a {location}")
            check_value(defn, value, at)


def with_defaults(config: LicenseConfig, location: str, props: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``props`` with the default value of every registered ``location`` property not set (LiveChat lists them)."""
    out = {ns: dict(values) for ns, values in props.items()}
    for ns, registered in config.property_definitions.items():
        for name, defn in registered.items():
            if defn.default_value is not None and location in defn.access and name not in out.get(ns, {}):
                out.setdefault(ns, {})[name] = defn.default_value
    return out


def check_size(props: dict[str, Any], where: str) -> None:
    check_config_part(props, where, MAX_CONFIG_PROPERTIES_BYTES)


def _filtered(props: dict[str, dict[str, Any]], namespace: str | None,
              name_prefix: str | None) -> dict[str, dict[str, Any]]:
    return {ns: {k: v for k, v in values.items() if not name_prefix or k.startswith(name_prefix)}
            for ns, values in props.items() if namespace is None or ns == namespace}


def _drop(props: dict[str, dict[str, Any]], names: dict[str, list[str]]) -> None:
    for ns, ns_names in names.items():
        values = props.get(ns)
        if values is None:
            continue
        for name in ns_names:
            values.pop(name, None)
        if not values:
            del props[ns]


def _registration_error(req: cf.RegisterPropertyRequest) -> str | None:
    """What LiveChat refuses in a registration beyond the types (None when it is sound)."""
    for location, rights in req.access.items():
        if not (rights.agent or rights.customer):
            return f"access.{location}: name at least one of agent, customer"
    if req.domain is not None and req.range is not None:
        return "domain and range cannot both be set"
    if req.range is not None and req.type != "int":
        return "range: only an int property has one"
    probe = PropertyDefinition(type=req.type, access=req.access, description="")
    for i, value in enumerate(req.domain or ()):
        wanted = _type_error(probe, value)
        if wanted is not None:
            return f"domain[{i}]: expected {wanted}"
    if req.default_value is not None and not {"license", "group"} & set(req.access):
        return "default_value: only a license or group property has one"
    return None


class PropertiesConfiguration:
    """The property methods of ``ConfigurationCore`` (a mixin: it uses the core's store and bus)."""

    store: Store
    bus: Bus

    # --- definitions -------------------------------------------------------------------------------------------

    async def register_property(self, caller: Any, req: cf.RegisterPropertyRequest) -> c.Empty:
        problem = _registration_error(req)
        if problem:
            raise ApiError("validation", problem)
        defn = PropertyDefinition(type=req.type, access=req.access, description=req.description, domain=req.domain,
                                  range=req.range, default_value=req.default_value)
        if req.default_value is not None:
            check_value(defn, req.default_value, "default_value")

        def add(config: LicenseConfig) -> None:
            registered = config.property_definitions.setdefault(req.owner_client_id, {})
            if req.name in registered:
                raise ApiError("already_exists", f"Property {req.owner_client_id}.{req.name} already exists")
            if sum(len(d) for d in config.property_definitions.values()) >= MAX_PROPERTY_DEFINITIONS:
                raise ApiError("limit_reached", f"A license has at most {MAX_PROPERTY_DEFINITIONS} registered "
                                                "properties")
            registered[req.name] = defn
            check_config_part(config.property_definitions, "registered properties")

        await self.store.update_license_config(caller.org, add)
        return _EMPTY

    @staticmethod
    def _definition(config: LicenseConfig, owner: str, name: str) -> PropertyDefinition:
        defn = config.property_definitions.get(owner, {}).get(name)
        if defn is None:
            raise ApiError("not_found", f"Property {owner}.{name} not found")
        return defn

    async def unregister_property(self, caller: Any, req: cf.PropertyIdRequest) -> c.Empty:
        """Values already written stay (free-form from now on); a published property cannot be unregistered."""

        def remove(config: LicenseConfig) -> None:
            if self._definition(config, req.owner_client_id, req.name).public_access is not None:
                raise ApiError("validation", "A published property cannot be unregistered")
            registered = config.property_definitions[req.owner_client_id]
            del registered[req.name]
            if not registered:
                del config.property_definitions[req.owner_client_id]

        await self.store.update_license_config(caller.org, remove)
        return _EMPTY

    async def publish_property(self, caller: Any, req: cf.PublishPropertyRequest) -> c.Empty:
        def publish(config: LicenseConfig) -> None:
            self._definition(config, req.owner_client_id, req.name).public_access = sorted(set(req.access_type))

        await self.store.update_license_config(caller.org, publish)
        return _EMPTY

    async def list_properties(self, caller: Any, req: cf.ListPropertiesRequest) -> dict[str, PropertyDefinition]:
        config = await self.store.license_config(caller.org)
        return dict(config.property_definitions.get(req.owner_client_id, {}))

    # --- license values (update_license_properties and list_license_properties are in core/configuration.py) -----

    async def delete_license_properties(self, caller: Any, req: cf.DeleteLicensePropertiesRequest) -> c.Empty:
        def delete(config: LicenseConfig) -> None:
            _drop(config.license_properties, req.properties)

        await self.store.update_license_config(caller.org, delete)
        return _EMPTY

    async def announce_license_properties(self, org: str, props: dict[str, dict[str, Any]]) -> None:
        """``license_properties_updated`` to every agent of the license."""
        await self.bus.publish([keys.agents_feed(org)], "license_properties_updated",
                               cf.LicensePropertiesUpdated(props))

    # --- group values ------------------------------------------------------------------------------------------

    async def update_group_properties(self, caller: Any, req: cf.UpdateGroupPropertiesRequest) -> c.Empty:
        """Merged into the group's values (names not given keep theirs)."""

        def update(config: LicenseConfig) -> None:
            if not any(g.id == req.group_id for g in config.groups):
                raise ApiError("group_not_found", f"Group {req.group_id} not found", {"group_id": req.group_id})
            check_values(config, "group", None, req.properties)
            props = config.group_properties.setdefault(str(req.group_id), {})
            for ns, values in req.properties.items():
                props.setdefault(ns, {}).update(values)
            check_size(props, f"group {req.group_id}'s properties")
            check_config_part(config.group_properties, "groups' properties")

        await self.store.update_license_config(caller.org, update)
        await self.bus.publish([keys.agents_feed(caller.org)], "group_properties_updated",
                               cf.GroupPropertiesUpdated(req.group_id, req.properties))
        return _EMPTY

    async def list_groups_properties(self, caller: Any, req: cf.ListGroupsPropertiesRequest) -> list[cf.GroupProperties]:
        """Every asked group that exists (every group for ``[]``), with the defaults of registered group
        properties."""
        config = await self.store.license_config(caller.org)
        wanted = set(req.group_ids)
        return [cf.GroupProperties(id=g.id, properties=_filtered(
                    with_defaults(config, "group", config.group_properties.get(str(g.id), {})),
                    req.namespace, req.name_prefix))
                for g in config.groups if not wanted or g.id in wanted]

    async def delete_group_properties(self, caller: Any, req: cf.DeleteGroupPropertiesRequest) -> c.Empty:
        def delete(config: LicenseConfig) -> None:
            if not any(g.id == req.id for g in config.groups):
                raise ApiError("group_not_found", f"Group {req.id} not found", {"group_id": req.id})
            props = config.group_properties.get(str(req.id), {})
            _drop(props, req.properties)
            if not props:
                config.group_properties.pop(str(req.id), None)

        await self.store.update_license_config(caller.org, delete)
        return _EMPTY
