"""The share image (OpenGraph / Twitter card): 1200 by 630 PNG with the title and the signatory count."""

from __future__ import annotations

import io
import textwrap
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))


@lru_cache(maxsize=8)
def _font(size: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return ImageFont.truetype(str(folder / name), size)
    return ImageFont.load_default(size=size)


def share_image(*, title: str, subtitle: str, footer: str) -> bytes:
    """A plain, legible card: dark text on a light background."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (250, 248, 242))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 24, HEIGHT), fill=(29, 78, 137))
    y = 70
    for line in textwrap.wrap(title, width=30)[:4]:
        draw.text((80, y), line, font=_font(64, True), fill=(20, 20, 20))
        y += 80
    y += 20
    for line in textwrap.wrap(subtitle, width=50)[:2]:
        draw.text((80, y), line, font=_font(36, False), fill=(60, 60, 60))
        y += 48
    draw.text((80, HEIGHT - 90), footer, font=_font(32, True), fill=(29, 78, 137))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
