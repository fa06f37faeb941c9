"""Signatory logos: only real PNG or JPEG images, checked by their bytes, re-encoded, size-limited."""

from __future__ import annotations

import io
import re
import secrets
from pathlib import Path

from backend.errors import InvalidInput

MAX_LOGO_BYTES = 2 * 1024 * 1024
MAX_LOGO_PIXELS = 4000 * 4000  # larger images are refused before decoding (decompression bombs)
MAX_LOGO_SIDE = 800  # stored logos are scaled down to fit this box
LOGO_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}\.png$")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def sniff(data: bytes) -> str | None:
    """`png` or `jpeg` from the file's first bytes (never from its name or declared type)."""
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def _looks_like_svg(data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head


def clean(data: bytes) -> bytes:
    """Checks an uploaded logo and returns it re-encoded as a PNG without metadata; InvalidInput otherwise."""
    if len(data) > MAX_LOGO_BYTES:
        raise InvalidInput(
            "The logo file is larger than 2 MB. Upload a smaller PNG or JPEG.",
            field="logo",
        )
    kind = sniff(data)
    if kind is None:
        if _looks_like_svg(data):
            raise InvalidInput(
                "SVG logos are not accepted, because they can carry scripts. Upload a PNG or JPEG instead.",
                field="logo",
            )
        raise InvalidInput(
            "The logo file is not a PNG or JPEG image (whatever its name says). Upload a PNG or JPEG.",
            field="logo",
        )
    from PIL import Image, UnidentifiedImageError  # deliberate: Pillow loads on the first logo, not at import

    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_LOGO_PIXELS:
                raise InvalidInput("The logo has too many pixels: 4000 by 4000 at most.", field="logo")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            converted = image.convert("RGBA")
            converted.thumbnail((MAX_LOGO_SIDE, MAX_LOGO_SIDE))
            out = io.BytesIO()
            converted.save(out, format="PNG", optimize=True)
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InvalidInput("The logo image is damaged or could not be read. Upload another PNG or JPEG.",
                           field="logo") from exc
    return out.getvalue()


def logos_dir(media_dir: str | Path) -> Path:
    """Where logos are kept: `logos/` under the media folder of the settings in use."""
    return Path(media_dir) / "logos"


def store(png: bytes, *, media_dir: str | Path) -> str:
    """Writes a cleaned logo under a random name; returns the path relative to the media folder."""
    folder = logos_dir(media_dir)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_urlsafe(18)}.png"
    (folder / name).write_bytes(png)
    return f"logos/{name}"


def remove(logo_path: str | None, *, media_dir: str | Path) -> None:
    """Deletes a stored logo (when the signature it belonged to was not saved, or was replaced)."""
    if not logo_path or not logo_path.startswith("logos/"):
        return
    name = logo_path.removeprefix("logos/")
    if LOGO_NAME_RE.match(name):
        (logos_dir(media_dir) / name).unlink(missing_ok=True)


def path_for(name: str, *, media_dir: str | Path) -> Path | None:
    """The file for a logo name from a URL, or None when the name is not one of ours."""
    if not LOGO_NAME_RE.match(name):
        return None
    path = logos_dir(media_dir) / name
    return path if path.is_file() else None
