"""Launch Debian's chromium (/usr/bin/chromium) through Playwright; no browser download.

Tests that need a browser call :func:`require_chromium` first: without chromium they fail
on CI (``CI`` set to a true value) and are skipped, with the reason, everywhere else.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("ROUNDS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_chromium() -> Path:
    """The chromium binary; fail (on CI) or skip (elsewhere) when it is missing."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if on_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:  # pragma: no cover - the test extra installs it
        reason = "playwright is not installed (pip install -e '.[test]')"
        if on_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


async def launch_chromium(playwright):  # type: ignore[no-untyped-def]
    """A headless Browser running Debian's chromium."""
    return await playwright.chromium.launch(executable_path=str(require_chromium()), headless=True,
                                            args=list(CHROMIUM_ARGS))
