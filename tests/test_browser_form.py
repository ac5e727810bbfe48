"""The add-a-meeting form in the local chat, in a real browser: Debian chromium driven by Playwright
against `python -m bot demo`.

The marketing manager types `meetings add`, gets the form, submits dates in the wrong order and
sees the error take the form's place, shown at the end date, with everything typed still there,
fixes the end date, and
sees the confirmation take the form's place; the meeting is then on the calendar.
"""
from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from browser import launch_chromium, require_chromium
from conftest import RoundsServer

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
CHAT = 'article.msg.bot[data-origin="chat"]'
NAME = "Riverside Heart Symposium"


async def test_admin_adds_a_meeting_with_the_form(tmp_path: Path) -> None:
    require_chromium()
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)
    start = date.today() + timedelta(days=60)
    with RoundsServer("demo", cwd=tmp_path) as server:
        server.wait_healthy()
        _, data = server.get_json("/chat/api/personas")
        admin = next(p for p in data["personas"] if p["role"] == "admin")  # type: ignore[index]

        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(TIMEOUT_MS)
                page_errors: list[str] = []
                page.on("pageerror", lambda error: page_errors.append(str(error)))
                await page.goto(server.url + "/")
                await expect(page.locator("#persona")).to_be_enabled()
                await page.select_option("#persona", admin["id"])
                await expect(page.locator("#persona-detail")).to_contain_text("marketing / admin")
                await expect(page.locator(f'{CHAT}[data-kind="help"]')).to_have_count(1)

                await page.fill("#input", "meetings add")
                await page.click("#send")
                form_card = page.locator(f'{CHAT}[data-kind="form"]')
                await expect(form_card).to_have_count(1)
                await expect(form_card.locator(".msg-title")).to_have_text("Add a meeting")
                form = form_card.locator("form.msg-form")
                assert await form.locator('input[name="start"]').get_attribute("type") == "date"
                assert await form.locator('input[name="embargo_lifts_time"]').get_attribute("type") == "time"
                assert await form.locator('textarea[name="embargo"]').count() == 1
                assert await form.locator('input[name="start"]').evaluate("node => node.required")
                await expect(form.locator('label[for]').first).to_have_text("From the meeting catalog")
                catalog = form.locator('select[name="catalog"]')
                await expect(catalog.locator("option").nth(1)).to_have_text("ASCO Annual Meeting")
                await expect(form.locator('[data-field="name"] .form-hint')).to_have_text(
                    "Leave empty to use the catalog meeting's name.")
                await expect(form.locator(".form-error")).to_have_count(0)
                message_id = await form_card.get_attribute("data-message-id")

                await form.locator('input[name="name"]').fill(NAME)
                await form.locator('input[name="start"]').fill(start.isoformat())
                await form.locator('input[name="end"]').fill((start - timedelta(days=2)).isoformat())
                await form.locator('input[name="city"]').fill("St. John's")
                await form.locator('textarea[name="embargo"]').fill("Late-breaking trials: embargoed.\nPosters: free.")
                await form.locator('input[name="attendees"]').fill("Cardiology")
                await form.locator('button[type="submit"]').click()

                error = page.locator(f'{CHAT}[data-kind="error"]')
                await expect(error).to_have_count(1)
                await expect(form_card).to_have_count(0)  # the error took the form's place
                assert await error.get_attribute("data-message-id") == message_id
                await expect(error.locator(".msg-body")).to_have_text(
                    "The meeting ends before it starts; check the dates.")
                kept = error.locator("form.msg-form")
                await expect(kept.locator(".form-error")).to_have_count(1)
                await expect(kept.locator('[data-field="end"] .form-error')).to_have_text(
                    "The meeting ends before it starts; check the dates.")
                assert await kept.locator('input[name="end"]').get_attribute("aria-invalid") == "true"
                await expect(kept.locator('select[name="catalog"]')).to_have_value("")
                await expect(kept.locator('input[name="name"]')).to_have_value(NAME)
                await expect(kept.locator('input[name="city"]')).to_have_value("St. John's")
                await expect(kept.locator('textarea[name="embargo"]')).to_have_value(
                    "Late-breaking trials: embargoed.\nPosters: free.")

                await kept.locator('input[name="end"]').fill((start + timedelta(days=1)).isoformat())
                await kept.locator('button[type="submit"]').click()
                added = page.locator(f'{CHAT}[data-kind="meetings"]')
                await expect(added).to_have_count(1)
                await expect(error).to_have_count(0)
                assert await added.get_attribute("data-message-id") == message_id
                await expect(added.locator(".msg-title")).to_have_text(f"Added: {NAME}")
                assert page_errors == []
            finally:
                await browser.close()

        listing = server.post_json("/chat/api/message", {"persona": admin["id"], "text": "meetings"})
        assert NAME in listing["replies"][0]["body"]  # type: ignore[index]
        assert "Traceback" not in server.output()
        assert server.stop() == 0
