"""The digest's trend chart as a small PNG (Pillow): average readiness and % with a profile by week."""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 640, 280
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44, 16, 40, 44
BAR = (54, 113, 196)
LINE = (222, 118, 40)
GRID = (225, 229, 235)
TEXT = (40, 44, 52)


def trend_png(history: tuple[tuple[str, int, int], ...], title: str, legend: tuple[str, str]) -> bytes:
    """Bars: average readiness (0–100). Line: % of physicians with a profile. One point per week.
    ``legend``: the words for the bars and for the line."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    small = ImageFont.load_default(size=11)
    draw.text((MARGIN_LEFT, 10), title, fill=TEXT, font=font)
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def y(value: int) -> float:
        return MARGIN_TOP + plot_h * (1 - max(0, min(100, value)) / 100)

    for tick in range(0, 101, 25):
        draw.line([(MARGIN_LEFT, y(tick)), (WIDTH - MARGIN_RIGHT, y(tick))], fill=GRID)
        draw.text((8, y(tick) - 7), f"{tick}", fill=TEXT, font=small)
    slot = plot_w / max(1, len(history))
    points = []
    for index, (week, score, profile_pct) in enumerate(history):
        left = MARGIN_LEFT + index * slot + slot * 0.2
        right = MARGIN_LEFT + (index + 1) * slot - slot * 0.2
        draw.rectangle([left, y(score), right, y(0)], fill=BAR)
        points.append(((left + right) / 2, y(profile_pct)))
        draw.text((left, HEIGHT - MARGIN_BOTTOM + 6), week.split("-")[-1], fill=TEXT, font=small)
    if len(points) > 1:
        draw.line(points, fill=LINE, width=3)
    for x, py in points:
        draw.ellipse([x - 3, py - 3, x + 3, py + 3], fill=LINE)
    legend_y = HEIGHT - 18
    draw.rectangle([MARGIN_LEFT, legend_y, MARGIN_LEFT + 10, legend_y + 10], fill=BAR)
    draw.text((MARGIN_LEFT + 16, legend_y - 2), legend[0], fill=TEXT, font=small)
    draw.line([(MARGIN_LEFT + 160, legend_y + 5), (MARGIN_LEFT + 176, legend_y + 5)], fill=LINE, width=3)
    draw.text((MARGIN_LEFT + 182, legend_y - 2), legend[1], fill=TEXT, font=small)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
