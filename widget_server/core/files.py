"""What an uploaded file may be: no executables, a safe name, a content type we trust, image dimensions."""

from __future__ import annotations

import mimetypes
import re
import struct

from ..protocol.errors import ApiError

BLOCKED_EXTENSIONS = frozenset(
    "exe msi bat cmd com scr pif cpl dll sys vbs vbe js jse ws wsf wsh ps1 psm1 sh bash csh ksh run bin elf "
    "app apk jar dmg pkg deb rpm hta lnk reg msc gadget".split()
)
_MAGIC_EXECUTABLE = (b"MZ", b"\x7fELF", b"#!", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_UNSAFE_NAME = re.compile(r"[^\w.\- ()\[\]@+,]+", re.UNICODE)

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"})
"""Types served inline; everything else (HTML, SVG, …) is served as an attachment so it cannot run on our origin."""


def safe_name(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = _UNSAFE_NAME.sub("_", name).strip(". ")[:200]
    return name or "file"


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return w, h
            i += 2 + length
    return None


def sniff(data: bytes) -> str | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:2] == b"\xff\xd8":
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    return None


def check(name: str, content_type: str, data: bytes) -> tuple[str, str, tuple[int, int] | None]:
    """Validate an upload; returns (safe name, content type, image size). Raises ApiError('validation')."""
    if not data:
        raise ApiError("validation", "file: the file is empty")
    name = safe_name(name)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext in BLOCKED_EXTENSIONS or data.startswith(_MAGIC_EXECUTABLE):
        raise ApiError("validation", "file: executable files are not allowed")
    content_type = sniff(data) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    dims = _image_size(data) if content_type.startswith("image/") else None
    return name, content_type, dims
