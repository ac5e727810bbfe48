"""``rounds transcript export``: every physician's completed lessons as the CSV a CME office asks for.

Social Rounds is not an accredited CME provider: the file is a record of completed lessons with
dates and estimated reading time, not a credit claim.
"""
from __future__ import annotations

import asyncio
import io
import sys
from datetime import UTC, date, datetime, time
from typing import TextIO

from bot import csvsafe
from bot.content import Content
from bot.csvsafe import write_out
from bot.store import Store

TRANSCRIPT_COLUMNS = ("email", "name", "department", "lesson_id", "lesson_title", "track", "completed_at_utc",
                      "reading_minutes")


async def write_transcripts(store: Store, content: Content, out: TextIO, since: date | None = None) -> int:
    """Write the transcript CSV (one row per completed lesson); the number of rows written."""
    after = datetime.combine(since, time(0, 0), UTC) if since else None
    writer = csvsafe.DictWriter(out, TRANSCRIPT_COLUMNS)
    writer.writeheader()
    count = 0
    for email, name, department, lesson_id, completed_at in await store.progress.transcripts(after):
        lesson = content.curriculum.lesson(lesson_id)
        track = content.curriculum.track(lesson.track) if lesson else None
        writer.writerow(dict(zip(TRANSCRIPT_COLUMNS, (
            email, name, department, lesson_id, lesson.title if lesson else "(lesson removed)",
            track.title if track else "", completed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            lesson.minutes if lesson else ""), strict=True)))
        count += 1
    return count


def cli_export(store: Store, content: Content, out_path: str | None, since: date | None, *,
               stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Transcripts to ``--out`` (UTF-8 with BOM, for Excel) or standard output; the exit code."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    buffer = io.StringIO(newline="")

    async def run() -> int:
        try:
            await store.check_migrated()
            return await write_transcripts(store, content, buffer, since)
        finally:
            await store.close()

    count = asyncio.run(run())
    where = write_out(buffer.getvalue(), out_path, stdout, stderr)
    if where is None:
        return 2
    print(f"exported {count} completed lesson{'s' if count != 1 else ''}{where}", file=stderr)
    return 0
