"""The demo on a phone (390 px wide) in Debian chromium: nothing scrolls sideways, tables keep words
whole and render links, the clock shows the hospital's time from a weekday morning, the side panel
says when quiet hours hold reminders back, and the weekly digest is not badged as a reminder."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from browser import launch_chromium, require_chromium
from conftest import RoundsServer

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
PHONE = {"width": 390, "height": 844}
CHAT = 'article.msg.bot[data-origin="chat"]'
NEW_YORK = ZoneInfo("America/New_York")

OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll('body *'))
    .filter((node) => !node.closest('.table-wrap') || node.classList.contains('table-wrap'))
    .filter((node) => { const box = node.getBoundingClientRect(); return box.width > 0 && box.right > width + 1; })
    .map((node) => `${node.tagName.toLowerCase()}.${node.className} right=${Math.round(node.getBoundingClientRect().right)}`);
}"""
LINES_OF = """(cell) => { const range = document.createRange(); range.selectNodeContents(cell);
  return new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top))).size; }"""


async def send(page, text: str) -> None:  # type: ignore[no-untyped-def]
    await page.fill("#input", text)
    await page.click("#send")


async def assert_no_sideways_scroll(page) -> None:  # type: ignore[no-untyped-def]
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], (widths, await page.evaluate(OVERFLOWING))


async def test_the_demo_on_a_phone(tmp_path: Path) -> None:
    require_chromium()
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)
    with RoundsServer("demo", cwd=tmp_path) as server:
        server.wait_healthy()
        _, clock = server.get_json("/chat/api/clock")
        assert clock["zone"] == "America/New_York"
        local = datetime.fromisoformat(clock["now"]).astimezone(NEW_YORK)
        assert local.weekday() < 5 and (local.hour, local.minute) == (9, 0), local  # a weekday morning
        assert clock["quiet_until"] is None
        _, personas = server.get_json("/chat/api/personas")
        admin = next(p for p in personas["personas"] if p["role"] == "admin")  # type: ignore[index]

        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright)
            try:
                page = await browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
                page.set_default_timeout(TIMEOUT_MS)
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                await page.goto(server.url + "/")
                await expect(page.locator(f'{CHAT}[data-kind="help"]')).to_have_count(1)
                await expect(page.locator("#clock-now")).to_contain_text(local.tzname() or "EST")
                await expect(page.locator("#clock-now")).to_contain_text("09:00")
                await expect(page.locator("#clock-note")).to_have_text("Move time forward to see reminders arrive.")
                await assert_no_sideways_scroll(page)

                await page.select_option("#persona", admin["id"])
                await expect(page.locator(f'{CHAT}[data-kind="help"]')).to_have_count(1)
                await send(page, "report")
                report = page.locator(f'{CHAT}[data-kind="report"]').last
                await expect(report.locator(".table-wrap table tbody tr")).to_have_count(7)
                await assert_no_sideways_scroll(page)
                for cell in await report.locator("tbody tr td:first-child").all():
                    name = await cell.inner_text()
                    if " " not in name:  # one word, e.g. Gastroenterology: never broken across lines
                        assert await cell.evaluate(LINES_OF) == 1, f"{name!r} wraps mid-word"

                await send(page, "followback")
                worklist = page.locator(f'{CHAT}[data-kind="report"]').last
                await expect(worklist.locator(".msg-title")).to_have_text("Follow-back worklist")
                links = worklist.locator('tbody td a[href^="https://x.com/"]')
                assert await links.count() >= 1
                assert (await links.first.inner_text()).startswith("@")
                assert "](" not in await worklist.locator("tbody").inner_text()
                await assert_no_sideways_scroll(page)

                # Evening: quiet hours hold reminders back, and the side panel says until when.
                await page.click('[data-advance="1h"]')
                await expect(page.locator("#clock-now")).to_contain_text("10:00")
                server.post_json("/chat/api/clock", {"advance": "9h"})
                await page.click('[data-advance="1h"]')
                await expect(page.locator("#clock-note")).to_contain_text("Quiet hours: reminders wait until")
                await expect(page.locator("#clock-note")).to_contain_text("08:00")

                # A week on, the weekly digest arrives in the marketing manager's chat, badged as such.
                await page.click('[data-advance="1w"]')
                digest = page.locator('article.msg.bot[data-origin="inbox"][data-kind="digest"]')
                await expect(digest.first).to_be_visible()
                await expect(digest.first.locator(".badge")).to_have_text("Weekly digest")
                await assert_no_sideways_scroll(page)
                await page.screenshot(path=str(tmp_path / "phone.png"), full_page=True)
                assert errors == []
            finally:
                await browser.close()
        assert "Traceback" not in server.output()
        assert server.stop() == 0
