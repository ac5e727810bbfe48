"""The demo in a real browser: Debian chromium driven by Playwright against `python -m bot demo`.

Opens the local chat, switches to a physician, reads the readiness score, takes a core lesson,
answers its quiz (the result card replaces the quiz in place), and sees status change; then
switches to the marketing manager and sees the readiness report rendered as a table.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.readiness import CampProgress, PhysicianProgress, assess
from browser import launch_chromium, require_chromium
from conftest import RoundsServer

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
CHAT = 'article.msg.bot[data-origin="chat"]'


def count_from_percent(value: str, total: int) -> int:
    """Undo ``round(100 * done / total)`` (unique for the totals used here); "✓ done" is all."""
    if value == "✓ done":
        return total
    if value == "to do":
        return 0
    percent = int(value.rstrip("%"))
    matches = [done for done in range(total + 1) if round(100 * done / total) == percent]
    assert len(matches) == 1, (value, total, matches)
    return matches[0]


def progress_from_fields(fields: dict[str, str], core_total: int, camp_total: int) -> PhysicianProgress:
    """Rebuild what the status card shows, so the score on it can be checked by the core."""
    camp = fields["Tweet Camp done"]
    return PhysicianProgress(
        has_handle=fields["Profile created"] == "✓ done",
        profile_done=count_from_percent(fields["Profile complete"], 4),
        profile_total=4,
        follows_hospital=fields["Follows the hospital"] == "✓ done",
        followed_back=fields["Followed back by the hospital"] == "✓ done",
        core_done=count_from_percent(fields["Core lessons done"], core_total),
        core_total=core_total,
        camp=None if camp == "no meeting yet" else CampProgress("next meeting", count_from_percent(camp, camp_total), camp_total),
        video_posted=fields["Video posted"] == "✓ done",
    )


def choose_physician(server: RoundsServer) -> tuple[dict, dict]:
    """A physician other than the one the page opens with, whose core lessons are not all done."""
    _, data = server.get_json("/chat/api/personas")
    personas = data["personas"]  # type: ignore[index]
    physicians = [p for p in personas if p["role"] == "physician"]
    admin = next(p for p in personas if p["role"] == "admin")
    assert len(physicians) >= 30
    for persona in physicians[1:]:
        reply = server.post_json("/chat/api/message", {"persona": persona["id"], "text": "status"})["replies"][0]
        fields = {f["label"]: f["value"] for f in reply["fields"]}
        if fields["Core lessons done"] != "✓ done":
            return persona, admin
    raise AssertionError("every demo physician has finished the core lessons")


async def send(page, text: str) -> None:  # type: ignore[no-untyped-def]
    await page.fill("#input", text)
    await page.click("#send")


async def read_fields(article) -> dict[str, str]:  # type: ignore[no-untyped-def]
    labels = await article.locator(".msg-fields .msg-field dt").all_inner_texts()
    values = await article.locator(".msg-fields .msg-field dd").all_inner_texts()
    return dict(zip((label.strip() for label in labels), (value.strip() for value in values), strict=True))


async def test_demo_lesson_quiz_changes_status_and_report_renders(tmp_path: Path, content):
    require_chromium()
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)
    core_total = len(content.curriculum.core_ids)
    camp_total = sum(len(phase.items) for phase in content.camp_phases)

    with RoundsServer("demo", cwd=tmp_path) as server:
        server.wait_healthy()
        assert (tmp_path / "social-rounds-demo.db").exists()  # its own SQLite file, in its working directory
        physician, admin = choose_physician(server)

        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                page.set_default_timeout(TIMEOUT_MS)
                page_errors: list[str] = []
                page.on("pageerror", lambda error: page_errors.append(str(error)))

                await page.goto(server.url + "/")
                await expect(page.locator("#persona")).to_be_enabled()
                # The page opens as the first physician and greets with help.
                await expect(page.locator(f'{CHAT}[data-kind="help"]')).to_have_count(1)
                groups = await page.locator("#persona optgroup").evaluate_all("gs => gs.map(g => g.label)")
                assert groups[-1] == "Marketing & admins"
                assert {"Cardiology", "Oncology", "Neurology", "Gastroenterology", "Pulmonology",
                        "Radiology"} <= set(groups)

                # -- switch persona ------------------------------------------------------------------
                first = await page.locator("#persona").input_value()
                assert first != physician["id"]
                await page.select_option("#persona", physician["id"])
                await expect(page.locator("#persona-detail")).to_have_text(
                    f"{physician['department']} · {physician['detail']} · physician")
                await expect(page.locator("#messages .msg.system").first).to_have_text(
                    f"You are now chatting as {physician['name']} ({physician['department']}).")
                await expect(page.locator(f'{CHAT}[data-kind="help"]')).to_have_count(1)

                # -- status before -------------------------------------------------------------------------
                await send(page, "status")
                status = page.locator(f'{CHAT}[data-kind="status"]')
                await expect(status).to_have_count(1)
                before = status.first
                score_before = int(await before.locator(".progress").get_attribute("data-score"))
                await expect(before.locator(".progress-score")).to_have_text(f"{score_before} / 100")
                fields_before = await read_fields(before)
                progress_before = progress_from_fields(fields_before, core_total, camp_total)
                assert assess(progress_before).score == score_before
                assert progress_before.core_done < core_total

                # -- the lesson and its quiz -----------------------------------------------------------------
                await send(page, "lesson")
                lesson_card = page.locator(f'{CHAT}[data-kind="lesson"]')
                await expect(lesson_card).to_have_count(1)
                answers = lesson_card.locator('.msg-actions button.btn[data-action^="quiz:"]')
                first_action = await answers.first.get_attribute("data-action")
                lesson_id = first_action.split(":")[1]
                lesson = content.curriculum.lesson(lesson_id)
                assert lesson is not None and lesson.core, lesson_id  # core lessons come first
                await expect(answers).to_have_count(len(lesson.quiz.choices))
                await expect(lesson_card.locator(".msg-title")).to_have_text(lesson.title)
                message_id = await lesson_card.get_attribute("data-message-id")

                await answers.first.click()
                result = page.locator(f'{CHAT}[data-kind="quiz_result"]')
                await expect(result).to_have_count(1)
                await expect(lesson_card).to_have_count(0)  # the result card took the quiz's place
                assert await result.get_attribute("data-message-id") == message_id
                verdict = "Right: " if lesson.quiz.answer == 0 else "Not quite: "
                await expect(result.locator(".msg-title")).to_have_text(verdict + lesson.title)
                await expect(result.locator(".msg-body")).to_contain_text(lesson.quiz.choices[lesson.quiz.answer])

                # -- status after ----------------------------------------------------------------------------
                await send(page, "status")
                await expect(status).to_have_count(2)
                after = status.nth(1)
                score_after = int(await after.locator(".progress").get_attribute("data-score"))
                fields_after = await read_fields(after)
                progress_after = progress_from_fields(fields_after, core_total, camp_total)
                assert progress_after.core_done == progress_before.core_done + 1
                assert progress_after == PhysicianProgress(**{**progress_before.__dict__,
                                                              "core_done": progress_before.core_done + 1})
                assert score_after == assess(progress_after).score
                assert score_after > score_before
                await expect(after.locator(".progress-track")).to_have_attribute("aria-valuenow", str(score_after))
                await page.screenshot(path=str(tmp_path / "physician.png"), full_page=True)

                # -- the marketing manager's report ----------------------------------------------------------
                await page.select_option("#persona", admin["id"])
                await expect(page.locator("#persona-detail")).to_contain_text("marketing / admin")
                await expect(page.locator(f'{CHAT}[data-kind="help"]')).to_have_count(1)
                await send(page, "report")
                report = page.locator(f'{CHAT}[data-kind="report"]')
                await expect(report).to_have_count(1)
                await expect(report.locator(".msg-title")).to_have_text("Readiness at Riverside University Hospital")
                table = report.locator(".table-wrap table")
                assert await table.locator("thead th").all_inner_texts() == [
                    "Department", "Physicians", "Profile (self-reported)", "Follow us (self-reported)",
                    "Followed back (self-reported)", "Core lessons (in the bot)", "Meeting ready (in the bot)",
                    "Avg score"]
                rows = table.locator("tbody tr")
                await expect(rows).to_have_count(7)  # six departments and the hospital
                departments = [await rows.nth(i).locator("td").first.inner_text() for i in range(7)]
                assert departments == ["Cardiology", "Gastroenterology", "Neurology", "Oncology", "Pulmonology",
                                       "Radiology", "Riverside University Hospital"]
                counts = [int(await rows.nth(i).locator("td").nth(1).inner_text()) for i in range(7)]
                assert sum(counts[:6]) == counts[6] == len([p for p in (await _personas(server))
                                                            if p["role"] == "physician"])
                await page.screenshot(path=str(tmp_path / "report.png"), full_page=True)

                assert page_errors == []
            finally:
                await browser.close()
        assert "Traceback" not in server.output()
        assert server.stop() == 0

    assert (tmp_path / "physician.png").stat().st_size > 20_000
    assert (tmp_path / "report.png").stat().st_size > 20_000


async def _personas(server: RoundsServer) -> list[dict]:
    _, data = server.get_json("/chat/api/personas")
    return data["personas"]  # type: ignore[index]
