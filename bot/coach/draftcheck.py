"""``check``: a draft post screened for privacy and professionalism risks, in memory only, and the
reply that says what was found."""
from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from bot.coach.base import Caller, Feature
from bot.core.commands import Command
from bot.core.preflight import (
    DraftContext,
    Finding,
    MeetingWindow,
    PreflightReport,
    PreflightRules,
    Severity,
    check_draft,
    render,
)
from bot.core.words import say
from bot.messages import Reply
from bot.words import Words

EXCERPT_MAX = 120
MAX_SHOWN = 15
SEVERITIES: tuple[Severity, ...] = ("block", "warn", "tip")
TITLES = {"blocked": say("check_title_blocked"), "review": say("check_title_review"), "ready": say("check_title_ready")}
LEADS = {"blocked": say("check_lead_blocked"), "review": say("check_lead_review"), "ready": say("check_lead_ready")}
VERDICTS = {"blocked": say("check_verdict_blocked"), "review": say("check_verdict_review"),
            "ready": say("check_verdict_ready")}
HEADINGS = {"block": say("check_heading_block"), "warn": say("check_heading_warn"), "tip": say("check_heading_tip")}
COUNTS = {"block": say("check_count_block"), "warn": say("check_count_warn"), "tip": say("check_count_tip"),
          "tips": say("check_count_tips")}


class DraftCheck(Feature):
    async def check(self, caller: Caller, command: Command) -> list[Reply]:
        """Check a draft in memory; the text is never stored or logged.

        A draft longer than the checker reads gets a clear reply and is not checked. The check
        runs in a worker thread so a long draft cannot hold up other requests on the event loop.
        """
        rules = self.content.preflight
        if len(command.rest) > rules.max_chars:
            return [too_long_reply(rules, len(command.rest), self.content.words)]
        now = self.clock.now()
        today = self.today(caller)
        meetings = await self.store.meetings.all(ending_on_or_after=today - timedelta(days=1))
        windows = tuple(MeetingWindow(m.name, m.hashtag, m.starts_on, m.ends_on,
                                      m.embargo_lifts_at.astimezone(caller.zone) if m.embargo_lifts_at else None)
                        for m in meetings)
        context = DraftContext(now=now, meetings=windows)
        report = await asyncio.to_thread(check_draft, command.rest, rules, context)
        return [preflight_reply(report, command.rest, self.content.words)]


def too_long_reply(rules: PreflightRules, length: int, words: Words) -> Reply:
    """The reply to a draft longer than the checker reads: say so, check nothing (its words are in
    ``preflight.yaml``, with the limit they talk about)."""
    replies = dict(rules.replies)
    values = {"length": f"{length:,}", "max": f"{rules.max_chars:,}"}
    text = render(replies["too_long"], values) if "too_long" in replies else \
        words.say("check_too_long_default", **values)
    return Reply(kind="check", title=replies.get("too_long_title", words.say("check_title")), text=text,
                 fields=((words.say("check_field_verdict"), words.say("check_verdict_not_checked")),
                         (words.say("check_field_length"),
                          words.say("check_length_characters", length=values["length"], max=values["max"]))),
                 footer=words.say("check_footer"))


def preflight_reply(report: PreflightReport, draft: str, words: Words) -> Reply:
    """The check result as a Reply: a plain summary plus findings grouped by severity."""
    if not draft.strip():
        return Reply(kind="check", title=words.say("check_title"), text=words.say("check_empty"))
    length = f"{report.weighted_length}/{report.weighted_limit}"
    counts = _counts(report, words)
    return Reply(
        kind="check",
        title=words.of(TITLES[report.verdict]),
        text=words.say("check_summary", lead=LEADS[report.verdict],
                       detail=say("check_detail_counts", counts=counts) if counts else say("check_detail_clean"),
                       length=length),
        body=_body(report, words),
        fields=((words.say("check_field_verdict"), words.of(VERDICTS[report.verdict])),
                (words.say("check_field_findings"), counts or words.say("check_findings_none")),
                (words.say("check_field_length_on_x"), length)),
        footer=words.say("check_footer"),
    )


def _counts(report: PreflightReport, words: Words) -> str:
    parts = []
    for severity in SEVERITIES:
        n = report.count(severity)
        if n:
            label = COUNTS["tips" if severity == "tip" and n > 1 else severity]
            parts.append(words.say("check_count", n=n, label=label))
    return ", ".join(parts)


def _body(report: PreflightReport, words: Words) -> str:
    if not report.findings:
        return words.say("check_no_findings")
    paragraphs: list[str] = []
    shown = report.findings[:MAX_SHOWN]
    for severity in SEVERITIES:
        group = [f for f in shown if f.severity == severity]
        if group:
            paragraphs.append(words.say("check_heading", heading=HEADINGS[severity], n=len(group)))
            paragraphs.extend(_finding_text(f, words) for f in group)
    hidden = len(report.findings) - len(shown)
    if hidden:
        paragraphs.append(words.say("check_more_findings", n=hidden))
    return "\n\n".join(paragraphs)


def _finding_text(finding: Finding, words: Words) -> str:
    quote = _quote(finding.excerpt)
    if quote:
        return words.say("check_finding_quoted", quote=quote, why=finding.why, fix=finding.fix)
    return words.say("check_finding", why=finding.why, fix=finding.fix)


def _quote(excerpt: str) -> str:
    flat = re.sub(r"\s*\n\s*", " ", excerpt.strip())
    if len(flat) <= EXCERPT_MAX:
        return flat
    half = EXCERPT_MAX // 2 - 1
    return f"{flat[:half]}…{flat[-half:]}"
