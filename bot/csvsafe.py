"""The one way the product writes CSV: spreadsheet formulas in text cells are neutralised.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (``=HYPERLINK(…)``, ``-2+3+cmd|' /C calc'!A0``). Names, departments,
handles and meeting names come from rosters and chat, so every text cell gets OWASP's treatment
("CSV Injection"): such a cell is prefixed with a single quote, which spreadsheets show as text.
Numbers stay numbers.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will read it as data: text starting a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class DictWriter:
    """``csv.DictWriter`` (CRLF line ends, as RFC 4180) whose every text cell goes through :func:`safe_cell`."""

    def __init__(self, out: TextIO, fieldnames: Sequence[str]) -> None:
        self._writer = csv.DictWriter(out, fieldnames=list(fieldnames), lineterminator="\r\n")

    def writeheader(self) -> None:
        self._writer.writeheader()

    def writerow(self, row: Mapping[str, Any]) -> None:
        self._writer.writerow({key: safe_cell(value) for key, value in row.items()})

    def writerows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.writerow(row)


def write_out(text: str, out_path: str | None, stdout: TextIO, stderr: TextIO) -> str | None:
    """Put a finished CSV on standard output (``None`` or ``-``) or in ``out_path`` as UTF-8 with a BOM,
    so Excel reads accents right. Returns where it went (``" to FILE"`` or ``""``), or None when the file
    cannot be written (the reason is on ``stderr``)."""
    if out_path in (None, "-"):
        stdout.write(text)
        stdout.flush()
        return ""
    try:
        with open(str(out_path), "w", encoding="utf-8-sig", newline="") as handle:
            handle.write(text)
    except OSError as exc:
        print(f"rounds: cannot write {out_path}: {exc.strerror or exc}", file=stderr)
        return None
    return f" to {out_path}"
