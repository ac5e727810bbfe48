"""Draw the Teams app icons: ``color.png`` (192×192, full colour) and ``outline.png`` (32×32, white on
transparent), as the Teams app manifest requires. Run ``python manifest/teams/make_icons.py`` after
changing the design; the PNG files are committed.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
ACCENT = (14, 124, 134)
"""Teal; the manifest's ``accentColor`` is the same colour (#0E7C86)."""
SCALE = 8
"""Draw large and scale down, for smooth edges."""


def _bubble_mask(size: int, *, outline: bool) -> Image.Image:
    """A speech bubble with a medical cross, as an alpha mask (255 = shape)."""
    big = size * SCALE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    pad, tail = big * 0.14, big * 0.16
    box = (pad, pad, big - pad, big - pad - tail)
    radius = big * 0.16
    tail_shape = [(big * 0.30, box[3] - 2), (big * 0.26, big - pad * 0.9), (big * 0.50, box[3] - 2)]
    stroke = max(SCALE * 2, round(big * 0.075))
    if outline:
        draw.rounded_rectangle(box, radius, outline=255, width=stroke)
        draw.polygon(tail_shape, fill=255)
        inner = [(x, y - stroke) for x, y in tail_shape]
        draw.polygon([(inner[0][0] + stroke, inner[0][1]), (inner[1][0] + stroke * 0.4, inner[1][1] - stroke * 1.2),
                      (inner[2][0] - stroke * 0.8, inner[2][1])], fill=0)
    else:
        draw.rounded_rectangle(box, radius, fill=255)
        draw.polygon(tail_shape, fill=255)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    arm, half = big * 0.17, big * 0.055
    cross = 255 if outline else 0
    draw.rectangle((cx - half, cy - arm, cx + half, cy + arm), fill=cross)
    draw.rectangle((cx - arm, cy - half, cx + arm, cy + half), fill=cross)
    return mask.resize((size, size), Image.LANCZOS)


def color_icon() -> Image.Image:
    size = 192
    image = Image.new("RGBA", (size, size), ACCENT + (255,))
    white = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    image.paste(white, (0, 0), _bubble_mask(size, outline=False))
    return image


def outline_icon() -> Image.Image:
    size = 32
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    image.putalpha(_bubble_mask(size, outline=True))
    return image


def main() -> None:
    color_icon().save(HERE / "color.png", optimize=True)
    outline_icon().save(HERE / "outline.png", optimize=True)
    print(f"wrote {HERE / 'color.png'} and {HERE / 'outline.png'}")


if __name__ == "__main__":
    main()
