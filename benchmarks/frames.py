"""RTM frame codec benchmark: our msgspec Structs against orjson with hand-written checks and against pydantic v2.

Run it by hand from the repository root (it is not a pytest test; orjson and pydantic come with the ``bench``
extra)::

    .venv/bin/python benchmarks/frames.py

It takes about 20 seconds. ``--iterations`` and ``--repeats`` change how much is timed.

Two frames of about 300 bytes make a round trip (decode the bytes into typed, validated objects, then encode those
objects back to bytes):

- a ``send_event`` request frame, as the Customer RTM API receives it;
- an ``incoming_event`` push frame, as it sends it.

Three implementations do the same work on each:

- ours: the project's Structs, used the way the RTM transport uses them: a request frame is decoded in one pass by
  ``dispatch.frame_decoder`` (a tagged union over the actions, each frame's payload typed as its action's request,
  as ``RtmConnection.reader`` does) and encoded in one pass; the push frame is a Struct whose payload is the
  ``IncomingEvent`` Struct;
- orjson: ``orjson.loads``, then validation written by hand to reject what the Structs reject (types, required keys,
  lengths, literals, the event's ``type`` tag, unknown actions), building plain dicts that ``orjson.dumps`` encodes;
- pydantic v2: strict models equivalent to the Structs (a union discriminated on ``type``),
  ``model_validate_json`` then ``model_dump_json``.

All three parse a frame in one pass. The competitors implement
the ``message`` event the frames carry, and ``custom`` so that the event union is a real one, but not the other
event types: a tagged union finds its variant by looking the tag up, so those add nothing to a message frame's cost.

Before timing, the script asserts that the three decode each frame to the same content and encode it back to the
same JSON, and that each rejects a set of invalid frames, so that the timings compare equal work.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NoReturn

import msgspec
import orjson
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from widget_server.api.dispatch import frame_decoder, payload_of
from widget_server.protocol.errors import ApiError
from widget_server.protocol.frames import RequestId
from widget_server.protocol.pushes import IncomingEvent

GOAL_US_PER_FRAME = 1.5
GOAL_VS_ORJSON = 2.0
GOAL_VS_PYDANTIC = 5.0

TEXT_MAX_LENGTH = 16384
CUSTOM_ID_MAX_LENGTH = 256
CHAT_ID_MAX_LENGTH = 64

# --- the frames ---------------------------------------------------------------------------------------------------

SEND_EVENT_FRAME: dict[str, Any] = {
    "action": "send_event",
    "request_id": "17",
    "payload": {
        "chat_id": "PJ0MRSHTDG",
        "event": {
            "type": "message",
            "text": "Hi! I ordered the blue trail shoes on Tuesday (order #48213) and tracking still says "
            "“label created”. Could you check whether the parcel has shipped?",
            "custom_id": "msg-k3v9x1",
        },
    },
}

INCOMING_EVENT_FRAME: dict[str, Any] = {
    "version": "3.6",
    "action": "incoming_event",
    "type": "push",
    "payload": {
        "chat_id": "PJ0MRSHTDG",
        "thread_id": "SGHT5K3LQJ",
        "event": {
            "id": "SGHT5K3LQJ_3",
            "type": "message",
            "text": "It shipped this morning!",
            "author_id": "jane@shop.example",
            "created_at": "2026-05-09T07:35:25.123456Z",
            "recipients": "all",
            "custom_id": "msg-k3v9x1",
        },
    },
}


Edit = tuple[str, Callable[[dict[str, Any]], object]]
"""A description and an in-place change that makes a frame invalid."""


def _event_of(frame: dict[str, Any]) -> dict[str, Any]:
    return frame["payload"]["event"]


def _payload_of(frame: dict[str, Any]) -> dict[str, Any]:
    return frame["payload"]


INVALID_EDITS: list[Edit] = [
    ("text as int", lambda frame: _event_of(frame).update(text=42)),
    ("text too long", lambda frame: _event_of(frame).update(text="x" * (TEXT_MAX_LENGTH + 1))),
    ("text missing", lambda frame: _event_of(frame).pop("text")),
    ("unknown event type", lambda frame: _event_of(frame).update(type="chat_message")),
    ("event type missing", lambda frame: _event_of(frame).pop("type")),
    ("custom_id too long", lambda frame: _event_of(frame).update(custom_id="x" * (CUSTOM_ID_MAX_LENGTH + 1))),
    ("recipients not all/agents", lambda frame: _event_of(frame).update(recipients="everyone")),
    ("event as list", lambda frame: _payload_of(frame).update(event=[])),
    ("chat_id as int", lambda frame: _payload_of(frame).update(chat_id=7)),
    ("chat_id missing", lambda frame: _payload_of(frame).pop("chat_id")),
    ("request_id as bool", lambda frame: frame.update(request_id=True)),
    ("action missing", lambda frame: frame.pop("action")),
]
"""Every implementation must reject each of these frames."""

SEND_EVENT_ONLY_EDITS: list[Edit] = [
    ("chat_id empty", lambda frame: _payload_of(frame).update(chat_id="")),
    ("attach_to_last_thread as str", lambda frame: _payload_of(frame).update(attach_to_last_thread="yes")),
    ("unknown action", lambda frame: frame.update(action="send_events")),
]


def invalid_frames(frame: dict[str, Any], edits: list[Edit]) -> list[tuple[str, bytes]]:
    out = []
    for what, edit in edits:
        broken = orjson.loads(orjson.dumps(frame))  # a deep copy
        edit(broken)
        out.append((what, orjson.dumps(broken)))
    return out


# --- 1. ours: the project's Structs, the way the RTM transport uses them ------------------------------------------

_encode = msgspec.json.encode


class IncomingEventPush(msgspec.Struct, omit_defaults=True):
    """An ``incoming_event`` push frame with its payload typed."""

    version: str
    action: str
    type: str
    payload: IncomingEvent
    request_id: RequestId = None


_push_decoder = msgspec.json.Decoder(IncomingEventPush)


def ours_decode_request(data: bytes) -> Any:
    """``RtmConnection.reader`` and ``handle``: one pass into the ``send_event`` frame and its ``SendEventRequest``."""
    frame = frame_decoder.decode(data)
    payload_of(frame)
    return frame


def ours_encode_request(frame: Any) -> bytes:
    return _encode(frame)


def ours_decode_push(data: bytes) -> IncomingEventPush:
    return _push_decoder.decode(data)


def ours_encode_push(frame: IncomingEventPush) -> bytes:
    return _encode(frame)


def ours_content(frame: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(frame)


# --- 2. orjson with the same validation written by hand -----------------------------------------------------------
# Straight-line checks on the hot path, paths formatted only on failure. Optional fields that are absent or null are
# left out of the dicts, and so out of the output, the way ``omit_defaults`` leaves them out of the Structs' JSON;
# unknown keys are dropped, as the Structs drop them.


class Invalid(ValueError):
    """A frame the hand-written validation rejects."""


def _fail(path: str, expected: str) -> NoReturn:
    raise Invalid(f"Expected `{expected}` at `{path}`")


def _optional_strs(src: dict[str, Any], out: dict[str, Any], keys: tuple[str, ...], path: str) -> None:
    for key in keys:
        value = src.get(key)
        if value is not None:
            if type(value) is not str:
                _fail(f"{path}.{key}", "str | null")
            out[key] = value


def _optional_ints(src: dict[str, Any], out: dict[str, Any], keys: tuple[str, ...], path: str) -> None:
    for key in keys:
        value = src.get(key)
        if value is not None:
            if type(value) is not int:  # bool is not accepted as an int
                _fail(f"{path}.{key}", "int | null")
            out[key] = value


def _postback(postback: Any, path: str) -> dict[str, Any]:
    if type(postback) is not dict:
        _fail(path, "object")
    postback_id = postback.get("id")
    if type(postback_id) is not str:
        _fail(f"{path}.id", "str")
    out = {"id": postback_id}
    _optional_strs(postback, out, ("thread_id", "event_id", "type", "value"), path)
    return out


def _image(image: Any, path: str) -> dict[str, Any]:
    if type(image) is not dict:
        _fail(path, "object")
    url = image.get("url")
    if type(url) is not str:
        _fail(f"{path}.url", "str")
    out = {"url": url}
    _optional_strs(image, out, ("name", "content_type", "alternative_text"), path)
    _optional_ints(image, out, ("size", "width", "height"), path)
    return out


def _event_base(event: dict[str, Any], out: dict[str, Any], path: str) -> None:
    """The fields every event type shares (``_EventBase``)."""
    value = event.get("id")
    if value is not None:
        if type(value) is not str:
            _fail(f"{path}.id", "str | null")
        out["id"] = value
    value = event.get("custom_id")
    if value is not None:
        if type(value) is not str or len(value) > CUSTOM_ID_MAX_LENGTH:
            _fail(f"{path}.custom_id", f"str of length <= {CUSTOM_ID_MAX_LENGTH} | null")
        out["custom_id"] = value
    value = event.get("created_at")
    if value is not None:
        if type(value) is not str:
            _fail(f"{path}.created_at", "str | null")
        out["created_at"] = value
    value = event.get("author_id")
    if value is not None:
        if type(value) is not str:
            _fail(f"{path}.author_id", "str | null")
        out["author_id"] = value
    value = event.get("recipients")
    if value is not None:
        if value not in ("all", "agents"):
            _fail(f"{path}.recipients", "'all' | 'agents' | null")
        out["recipients"] = value
    value = event.get("visibility")
    if value is not None:
        if value not in ("all", "agents"):
            _fail(f"{path}.visibility", "'all' | 'agents' | null")
        out["visibility"] = value
    value = event.get("properties")
    if value is not None:
        if type(value) is not dict or any(type(names) is not dict for names in value.values()):
            _fail(f"{path}.properties", "object of objects | null")
        out["properties"] = value


def _message(event: dict[str, Any], path: str) -> dict[str, Any]:
    text = event.get("text")
    if type(text) is not str or len(text) > TEXT_MAX_LENGTH:
        _fail(f"{path}.text", f"str of length <= {TEXT_MAX_LENGTH}")
    out: dict[str, Any] = {"type": "message", "text": text}
    _event_base(event, out, path)
    postback = event.get("postback")
    if postback is not None:
        out["postback"] = _postback(postback, f"{path}.postback")
    image = event.get("image")
    if image is not None:
        out["image"] = _image(image, f"{path}.image")
    return out


def _custom(event: dict[str, Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "custom"}
    _event_base(event, out, path)
    content = event.get("content")
    if content is not None:
        out["content"] = content
    return out


_EVENT_TYPES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {"message": _message, "custom": _custom}


def _event(event: Any, path: str) -> dict[str, Any]:
    if type(event) is not dict:
        _fail(path, "object")
    tag = event.get("type")
    validate = _EVENT_TYPES.get(tag) if type(tag) is str else None
    if validate is None:
        _fail(f"{path}.type", " | ".join(map(repr, _EVENT_TYPES)))
    return validate(event, path)


def _send_event_request(payload: Any, path: str) -> dict[str, Any]:
    if type(payload) is not dict:
        _fail(path, "object")
    chat_id = payload.get("chat_id")
    if type(chat_id) is not str or not 1 <= len(chat_id) <= CHAT_ID_MAX_LENGTH:
        _fail(f"{path}.chat_id", f"str of length 1..{CHAT_ID_MAX_LENGTH}")
    out = {"chat_id": chat_id, "event": _event(payload.get("event"), f"{path}.event")}
    attach = payload.get("attach_to_last_thread", False)
    if type(attach) is not bool:
        _fail(f"{path}.attach_to_last_thread", "bool")
    if attach:
        out["attach_to_last_thread"] = True
    return out


_REQUEST_PAYLOADS: dict[str, Callable[[Any, str], dict[str, Any]]] = {"send_event": _send_event_request}


def _request_id(frame: dict[str, Any], out: dict[str, Any]) -> None:
    request_id = frame.get("request_id")
    if request_id is not None:
        if type(request_id) is not str and type(request_id) is not int:
            _fail("$.request_id", "str | int | null")
        out["request_id"] = request_id


def orjson_decode_request(data: bytes) -> dict[str, Any]:
    frame = orjson.loads(data)
    if type(frame) is not dict:
        _fail("$", "object")
    action = frame.get("action")
    if type(action) is not str:
        _fail("$.action", "str")
    out = {"action": action}
    _request_id(frame, out)
    version = frame.get("version")
    if version is not None:
        if type(version) is not str:
            _fail("$.version", "str | null")
        out["version"] = version
    validate = _REQUEST_PAYLOADS.get(action)
    if validate is None:
        raise Invalid(f"Unknown action: {action[:64]}")
    payload = frame.get("payload")
    out["payload"] = validate(payload if payload is not None else {}, "$.payload")
    return out


def orjson_decode_push(data: bytes) -> dict[str, Any]:
    frame = orjson.loads(data)
    if type(frame) is not dict:
        _fail("$", "object")
    version, action, type_ = frame.get("version"), frame.get("action"), frame.get("type")
    if type(version) is not str:
        _fail("$.version", "str")
    if type(action) is not str:
        _fail("$.action", "str")
    if type(type_) is not str:
        _fail("$.type", "str")
    out = {"version": version, "action": action, "type": type_}
    _request_id(frame, out)
    payload = frame.get("payload")
    if type(payload) is not dict:
        _fail("$.payload", "object")
    chat_id, thread_id = payload.get("chat_id"), payload.get("thread_id")
    if type(chat_id) is not str:
        _fail("$.payload.chat_id", "str")
    if type(thread_id) is not str:
        _fail("$.payload.thread_id", "str")
    event = _event(payload.get("event"), "$.payload.event")
    out["payload"] = {"chat_id": chat_id, "thread_id": thread_id, "event": event}
    return out


def orjson_content(decoded: dict[str, Any]) -> dict[str, Any]:
    return decoded


# --- 3. pydantic v2: models equivalent to the Structs -------------------------------------------------------------
# Strict, like msgspec: no coercion of "1" to 1 or of 1 to True. Unknown keys are ignored by both.

_STRICT = ConfigDict(strict=True)

Audience = Literal["all", "agents"]
RequestIdModel = str | int | None


class EventBaseModel(BaseModel):
    model_config = _STRICT

    id: str | None = None
    custom_id: Annotated[str, Field(max_length=CUSTOM_ID_MAX_LENGTH)] | None = None
    created_at: str | None = None
    author_id: str | None = None
    recipients: Audience | None = None
    visibility: Audience | None = None
    properties: dict[str, dict[str, Any]] | None = None


class PostbackModel(BaseModel):
    model_config = _STRICT

    id: str
    thread_id: str | None = None
    event_id: str | None = None
    type: str | None = None
    value: str | None = None


class ImageModel(BaseModel):
    model_config = _STRICT

    url: str
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    alternative_text: str | None = None


class MessageModel(EventBaseModel):
    type: Literal["message"]
    text: Annotated[str, Field(max_length=TEXT_MAX_LENGTH)]
    postback: PostbackModel | None = None
    image: ImageModel | None = None


class CustomModel(EventBaseModel):
    type: Literal["custom"]
    content: Any = None


EventModel = Annotated[MessageModel | CustomModel, Field(discriminator="type")]


class SendEventRequestModel(BaseModel):
    model_config = _STRICT

    chat_id: Annotated[str, Field(min_length=1, max_length=CHAT_ID_MAX_LENGTH)]
    event: EventModel
    attach_to_last_thread: bool = False


class SendEventFrameModel(BaseModel):
    """A request frame whose payload is decoded with the envelope: the ``action`` picks the model, so it is fixed."""

    model_config = _STRICT

    action: Literal["send_event"]
    request_id: RequestIdModel = None
    version: str | None = None
    payload: SendEventRequestModel


class IncomingEventModel(BaseModel):
    model_config = _STRICT

    chat_id: str
    thread_id: str
    event: EventModel


class IncomingEventPushModel(BaseModel):
    model_config = _STRICT

    version: str
    action: str
    type: str
    payload: IncomingEventModel
    request_id: RequestIdModel = None


def pydantic_encode(model: BaseModel) -> str:
    return model.model_dump_json(exclude_defaults=True)


def pydantic_content(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_defaults=True)


# --- checking and timing ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    name: str
    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes | str]
    content: Callable[[Any], dict[str, Any]]
    """The decoded frame as plain builtins, defaults left out, to compare implementations."""
    errors: tuple[type[Exception], ...]
    """What ``decode`` raises on an invalid frame."""


@dataclass(frozen=True)
class FrameKind:
    name: str
    data: bytes
    invalid: list[tuple[str, bytes]]
    codecs: list[Codec]
    """Ours first."""


def frame_kinds() -> list[FrameKind]:
    ours_errors = (msgspec.ValidationError, ApiError)
    return [
        FrameKind(
            name="send_event request",
            data=orjson.dumps(SEND_EVENT_FRAME),
            invalid=invalid_frames(SEND_EVENT_FRAME, INVALID_EDITS + SEND_EVENT_ONLY_EDITS),
            codecs=[
                Codec("ours", ours_decode_request, ours_encode_request, ours_content, ours_errors),
                Codec("orjson", orjson_decode_request, orjson.dumps, orjson_content, (Invalid,)),
                Codec("pydantic", SendEventFrameModel.model_validate_json, pydantic_encode, pydantic_content,
                      (pydantic.ValidationError,)),
            ],
        ),
        FrameKind(
            name="incoming_event push",
            data=orjson.dumps(INCOMING_EVENT_FRAME),
            invalid=invalid_frames(INCOMING_EVENT_FRAME, INVALID_EDITS),
            codecs=[
                Codec("ours", ours_decode_push, ours_encode_push, ours_content, ours_errors),
                Codec("orjson", orjson_decode_push, orjson.dumps, orjson_content, (Invalid,)),
                Codec("pydantic", IncomingEventPushModel.model_validate_json, pydantic_encode, pydantic_content,
                      (pydantic.ValidationError,)),
            ],
        ),
    ]


def verify(kind: FrameKind) -> None:
    """Raise AssertionError unless every implementation does the same work on ``kind``: each decodes the frame to
    its JSON content and encodes it back to that content (so all agree), and each rejects every invalid frame."""
    expected = orjson.loads(kind.data)
    for codec in kind.codecs:
        decoded = codec.decode(kind.data)
        content = codec.content(decoded)
        if content != expected:
            raise AssertionError(f"{kind.name}: {codec.name} decodes to {content!r}")
        output = orjson.loads(codec.encode(decoded))
        if output != expected:
            raise AssertionError(f"{kind.name}: {codec.name} encodes {output!r}")
        for what, data in kind.invalid:
            try:
                codec.decode(data)
            except codec.errors:
                continue
            raise AssertionError(f"{kind.name}: {codec.name} accepts an invalid frame ({what})")


def time_round_trip(codec: Codec, data: bytes, iterations: int) -> float:
    """Microseconds per decode + encode of ``data``; the garbage collector is off, as in ``timeit``."""
    decode, encode = codec.decode, codec.encode
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in itertools.repeat(None, iterations):
            encode(decode(data))
        elapsed = time.perf_counter_ns() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return elapsed / iterations / 1000


Samples = dict[tuple[str, str], list[float]]
"""µs per frame of each timed run, by (frame kind, implementation)."""


def measure(kinds: list[FrameKind], iterations: int, repeats: int) -> Samples:
    """Time every implementation on every frame ``repeats`` times; the runs take turns, so drift hits all alike."""
    samples: Samples = {(kind.name, codec.name): [] for kind in kinds for codec in kind.codecs}
    for kind in kinds:  # warm up
        for codec in kind.codecs:
            time_round_trip(codec, kind.data, iterations // 10)
    for _ in range(repeats):
        for kind in kinds:
            for codec in kind.codecs:
                samples[kind.name, codec.name].append(time_round_trip(codec, kind.data, iterations))
    return samples


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(kinds: list[FrameKind], samples: Samples, iterations: int, repeats: int) -> None:
    print(f"Frame round trip (decode + encode), µs per frame, median of {repeats} runs x {iterations:,} frames")
    print(f"CPython {platform.python_version()}, msgspec {msgspec.__version__}, orjson {orjson.__version__}, "
          f"pydantic {pydantic.VERSION}, {platform.machine()}")
    print()
    row = "{:<20} {:>5} {:>8} {:>8} {:>9} {:>15} {:>17}"
    print(row.format("frame", "bytes", "ours", "orjson", "pydantic", "ours vs orjson", "ours vs pydantic"))
    verdicts = []
    for kind in kinds:
        runs = [samples[kind.name, codec.name] for codec in kind.codecs]
        ours, orjson_us, pydantic_us = (statistics.median(times) for times in runs)
        vs_orjson, vs_pydantic = orjson_us / ours, pydantic_us / ours
        print(row.format(kind.name, len(kind.data), f"{ours:.2f}", f"{orjson_us:.2f}", f"{pydantic_us:.2f}",
                         f"{vs_orjson:.2f}x", f"{vs_pydantic:.2f}x"))
        spreads = (f"{(max(times) - min(times)) / statistics.median(times):.0%}" for times in runs)
        print(row.format("  spread of runs", "", *spreads, "", "").rstrip())
        verdicts.append(
            f"{kind.name:<20} ≤ {GOAL_US_PER_FRAME} µs: {_met(ours <= GOAL_US_PER_FRAME):<6}  "
            f"≥ {GOAL_VS_ORJSON:g}x orjson: {_met(vs_orjson >= GOAL_VS_ORJSON):<6}  "
            f"≥ {GOAL_VS_PYDANTIC:g}x pydantic: {_met(vs_pydantic >= GOAL_VS_PYDANTIC)}"
        )
    goals = (f"≤ {GOAL_US_PER_FRAME}", "", "", f"≥ {GOAL_VS_ORJSON:g}x", f"≥ {GOAL_VS_PYDANTIC:g}x")
    print(row.format("goal", "", *goals).rstrip())
    print()
    print("ours vs X: X's time / ours, how many times faster ours is; spread of runs: (slowest - fastest) / median")
    print()
    print("\n".join(verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--iterations", type=int, default=100_000, help="frames per timed run (default 100000)")
    parser.add_argument("--repeats", type=int, default=9, help="timed runs per implementation (default 9)")
    args = parser.parse_args()

    kinds = frame_kinds()
    for kind in kinds:
        verify(kind)
    report(kinds, measure(kinds, args.iterations, args.repeats), args.iterations, args.repeats)


if __name__ == "__main__":
    main()
