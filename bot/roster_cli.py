"""``rounds roster import|export``: files and standard input in, summaries, progress and FILE:LINE problems
out, exit codes."""
from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.config import Config
from bot.core.roster_csv import RosterParse, parse_roster
from bot.core.words import Say
from bot.csvsafe import write_out
from bot.roster import ImportSummary, export_roster, import_roster
from bot.settings import sqlite_file
from bot.store import Store

if TYPE_CHECKING:
    from bot.app import Runtime

EXIT_OK, EXIT_USAGE = 0, 2
PROGRESS_MIN_ROWS = 1000
"""Smaller files import in the blink of an eye: no progress bar for them."""


def summary_line(summary: ImportSummary) -> str:
    """The one line ``rounds roster import`` prints when it is done."""
    noun = "physician" if summary.total == 1 else "physicians"
    if summary.dry_run:
        text = (f"dry run, nothing written: would import {summary.total} {noun}: would add {summary.added}, "
                f"update {summary.updated}, leave {summary.unchanged} unchanged")
        extra = [f"deactivate {summary.deactivated}" if summary.deactivate_missing else "",
                 f"link {summary.linked} platform ids" if summary.linked else ""]
    else:
        text = (f"imported {summary.total} {noun}: {summary.added} added, {summary.updated} updated, "
                f"{summary.unchanged} unchanged")
        extra = [f"{summary.deactivated} deactivated" if summary.deactivate_missing else "",
                 f"{summary.linked} platform ids linked" if summary.linked else ""]
    return "; ".join([text, *[part for part in extra if part]])


class ProgressBar:
    """A one-line progress bar, drawn only on a terminal and only for large files."""

    def __init__(self, stream: TextIO, total: int, label: str = "importing", width: int = 30) -> None:
        self.stream, self.total, self.label, self.width = stream, total, label, width
        self.enabled = total >= PROGRESS_MIN_ROWS and _isatty(stream)
        self._shown = -1

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        percent = min(100, 100 * done // self.total)
        if percent == self._shown:
            return
        self._shown = percent
        filled = self.width * percent // 100
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{percent:3d}% {min(done, self.total)}/{self.total}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def read_roster_file(path: str) -> bytes:
    """The raw bytes of FILE, or of standard input for ``-``; OSError when unreadable."""
    if path == "-":
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def cli_import(path: str, database_url: str, words: Callable[[Say], str], *, dry_run: bool = False,
               deactivate_missing: bool = False, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """``rounds roster import``: exit 0 with a summary, or 2 with every problem as FILE:LINE: reason
    (``words``: the content's, which say what is wrong with a handle)."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    source = "<stdin>" if path == "-" else path
    try:
        data = read_roster_file(path)
    except OSError as exc:
        print(f"rounds: cannot read {source}: {exc.strerror or exc}", file=stderr)
        return EXIT_USAGE
    parse = parse_roster(data, source, words)
    for warning in parse.warnings:
        print(f"{source}: warning: {warning}", file=stderr)
    if not parse.ok:
        for line in parse.problems():
            print(line, file=stderr)
        count = len(parse.errors)
        print(f"rounds: {source} rejected ({count} problem{'s' if count != 1 else ''}); nothing was imported",
              file=stderr)
        return EXIT_USAGE
    bar = ProgressBar(stderr, len(parse.records), "dry run" if dry_run else "importing")
    summary = asyncio.run(_import(database_url, parse, dry_run, deactivate_missing, bar, stderr))
    print(summary_line(summary), file=stdout)
    return EXIT_OK


async def _import(database_url: str, parse: RosterParse, dry_run: bool, deactivate_missing: bool,
                  bar: ProgressBar, stderr: TextIO) -> ImportSummary:
    path = sqlite_file(database_url)
    if dry_run:
        if path is None or path.exists():
            return await _import_into(database_url, parse, True, deactivate_missing, bar, create=False)
        # A dry run never creates the database: it compares against an empty one in a scratch folder.
        print(f"rounds: {path} does not exist yet: everyone in the file would be added", file=stderr)
        with tempfile.TemporaryDirectory(prefix="rounds-dry-run-") as scratch:
            return await _import_into(f"sqlite:///{Path(scratch) / 'empty.db'}", parse, True, deactivate_missing,
                                      bar, create=True)
    return await _import_into(database_url, parse, False, deactivate_missing, bar, create=True, announce=stderr)


async def _import_into(database_url: str, parse: RosterParse, dry_run: bool, deactivate_missing: bool,
                       bar: ProgressBar, *, create: bool, announce: TextIO | None = None) -> ImportSummary:
    """``create``: a brand-new SQLite database gets its schema first (``announce`` says so)."""
    store = Store.open(database_url)
    try:
        if create and await store.create_if_new() and announce is not None:
            print(f"rounds: created the database schema in {sqlite_file(database_url)} (a new SQLite database)",
                  file=announce)
        await store.check_migrated()
        return await import_roster(store, parse, datetime.now(UTC), dry_run, deactivate_missing,
                                   progress=bar)
    finally:
        bar.close()
        await store.close()


def cli_export(config: Config, database_url: str, out_path: str | None, *,
               stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """``rounds roster export``: readiness CSV to ``--out`` (UTF-8 with BOM, for Excel) or stdout."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    buffer = io.StringIO(newline="")
    from bot.app import Runtime

    count = asyncio.run(_export(Runtime.build(config, database_url), buffer))
    where = write_out(buffer.getvalue(), out_path, stdout, stderr)
    if where is None:
        return EXIT_USAGE
    print(f"exported {count} physician{'s' if count != 1 else ''}{where}", file=stderr)
    return EXIT_OK


async def _export(runtime: Runtime, out: TextIO) -> int:
    try:
        await runtime.store.check_migrated()
        today = runtime.clock.now().astimezone(runtime.config.zone).date()
        return await export_roster(runtime.store, await runtime.coach.roster_rows(today), out,
                                   runtime.content.words.of)
    finally:
        await runtime.store.close()
