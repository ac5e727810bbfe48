"""Plain-text rendering of a Reply for the terminal (`rounds digest --preview`)."""
from __future__ import annotations

import re

from bot.messages import Reply

_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


def plain(markdown: str) -> str:
    """Drop the Markdown subset's markers; links become ``label (url)``."""
    text = _LINK.sub(lambda m: m.group(1) if m.group(1).lstrip("@") in m.group(2) else f"{m.group(1)} ({m.group(2)})",
                     markdown)
    return text.replace("**", "").replace("`", "")


def render_text(reply: Reply, width: int = 100) -> str:
    lines = []
    if reply.title:
        lines += [reply.title, "=" * min(width, len(reply.title)), ""]
    lines.append(plain(reply.body or reply.text))
    if reply.fields:
        lines += [""] + [f"{label}: {value}" for label, value in reply.fields]
    if reply.table:
        rows = [reply.table.headers, *reply.table.rows]
        rows = [tuple(plain(cell) for cell in row) for row in rows]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines.append("")
        for index, row in enumerate(rows):
            lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
            if index == 0:
                lines.append("  ".join("-" * w for w in widths))
    if reply.image:
        lines += ["", f"[chart] {reply.image.alt}"]
    if reply.footer:
        lines += ["", plain(reply.footer)]
    return "\n".join(lines).rstrip() + "\n"
