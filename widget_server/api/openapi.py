"""The Web API's documentation: one OpenAPI operation per Customer Chat API action, with the request and response
schemas generated from the same msgspec Structs that validate the wire (the route itself is one generic handler)."""

from __future__ import annotations

import typing
from typing import Any

import msgspec
from litestar import Litestar
from litestar.openapi.spec import OpenAPIMediaType as MediaType
from litestar.openapi.spec import OpenAPIResponse, Operation, PathItem, Reference, RequestBody, Schema

from ..core.interface import ChatCore
from ..protocol.config import DynamicConfig36
from ..protocol.customer import UploadFileResponse
from ..protocol.errors import ErrorPayload
from .dispatch import CUSTOMER_ACTIONS, WEB_GET_ACTIONS

_REF = "#/components/schemas/{name}"


def _response_type(method: str) -> Any:
    if method == "get_dynamic_configuration":
        return DynamicConfig36  # 3.5 answers with the same fields at the top level
    ret = typing.get_type_hints(getattr(ChatCore, method))["return"]
    return dict[str, str] if ret == dict[str, str] else ret


def _schema(value: dict[str, Any]) -> Schema | Reference:
    if "$ref" in value:
        return Reference(ref=value["$ref"])
    return Schema(type="object")  # type: ignore[arg-type]


def add_action_operations(app: Litestar) -> None:
    """Add ``/v3.6/customer/action/<name>`` operations for every Web action to the app's OpenAPI document."""
    web = {name: a for name, a in CUSTOMER_ACTIONS.items() if "web" in a.transports}
    requests = [a.request for a in web.values()]
    responses = [_response_type(a.method) for a in web.values()]
    schemas, components = msgspec.json.schema_components(
        [*requests, *responses, UploadFileResponse, ErrorPayload], ref_template=_REF)
    req_schemas, resp_schemas = schemas[: len(web)], schemas[len(web): 2 * len(web)]
    upload_schema, error_schema = schemas[-2], schemas[-1]

    doc = app.openapi_schema
    doc.components.schemas = {**(doc.components.schemas or {}),
                              **{k: Schema(**_to_schema_kwargs(v)) for k, v in components.items()}}
    error = {"default": OpenAPIResponse(description="LiveChat error", content={
        "application/json": MediaType(schema=_schema(error_schema))})}
    for name, req, resp in zip(web, req_schemas, resp_schemas):
        ok = {"200": OpenAPIResponse(description="OK", content={"application/json": MediaType(schema=_schema(resp))})}
        if name in WEB_GET_ACTIONS:
            op = Operation(operation_id=f"customer_{name}", tags=["Customer Web API"], summary=name,
                           description="GET with query parameters; no token needed.", responses={**ok, **error})
            item = PathItem(get=op)
        else:
            op = Operation(operation_id=f"customer_{name}", tags=["Customer Web API"], summary=name,
                           request_body=RequestBody(content={"application/json": MediaType(schema=_schema(req))},
                                                    required=True),
                           responses={**ok, **error})
            item = PathItem(post=op)
        doc.paths[f"/v3.6/customer/action/{name}"] = item  # type: ignore[index]
    doc.paths["/v3.6/customer/action/upload_file"] = PathItem(post=Operation(  # type: ignore[index]
        operation_id="customer_upload_file", tags=["Customer Web API"], summary="upload_file",
        description="multipart/form-data with a `file` field (≤ 10 MB, no executables).",
        responses={"200": OpenAPIResponse(description="OK", content={
            "application/json": MediaType(schema=_schema(upload_schema))}), **error}))


def _to_schema_kwargs(value: dict[str, Any]) -> dict[str, Any]:
    """msgspec's JSON Schema dict -> litestar Schema kwargs (the keys that differ in spelling)."""
    out: dict[str, Any] = {}
    for key, v in value.items():
        if key == "$ref":
            continue
        name = {"anyOf": "any_of", "oneOf": "one_of", "allOf": "all_of", "additionalProperties": "additional_properties",
                "maxLength": "max_length", "minLength": "min_length", "maxItems": "max_items",
                "minItems": "min_items", "exclusiveMinimum": "exclusive_minimum",
                "exclusiveMaximum": "exclusive_maximum"}.get(key, key)
        if name in ("properties",):
            v = {k: _nested(x) for k, x in v.items()}
        elif name in ("items", "additional_properties") and isinstance(v, dict):
            v = _nested(v)
        elif name in ("any_of", "one_of", "all_of"):
            v = [_nested(x) for x in v]
        elif name == "discriminator":
            from litestar.openapi.spec import Discriminator

            v = Discriminator(property_name=v["propertyName"], mapping=v.get("mapping"))
        out[name] = v
    return out


def _nested(value: dict[str, Any]) -> Schema | Reference:
    if "$ref" in value:
        return Reference(ref=value["$ref"])
    return Schema(**_to_schema_kwargs(value))
