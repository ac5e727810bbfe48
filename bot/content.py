"""Loads and validates everything in ``prompts/``: lessons, checklists, catalog, templates.

Every problem is reported as ``file:line: what is wrong``; the bot refuses to start on any.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import jinja2.nodes

from bot.core.curriculum import reading_minutes
from bot.core.forms import FORMS, FieldWords, FormWords
from bot.core.models import (
    NETWORKS,
    CampItem,
    CampPhase,
    CatalogMeeting,
    Curriculum,
    Lesson,
    ProfileItem,
    Quiz,
    Source,
    Track,
)
from bot.core.preflight import PreflightRules
from bot.messages import inert
from bot.preflight_rules import load_preflight_rules
from bot.words import Words, check_references, load_words
from bot.yamlsrc import ContentError, Fields, LocatedList, load_yaml

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
URL = re.compile(r"^https?://\S+$")
LESSON_WORDS = (80, 200)
PROMISED_MINUTES = 2
"""Every lesson is sold as a 2-minute read; its label is computed from its words and may not exceed this."""

# Every template the bot renders, with the variables it may use.
TEMPLATES: dict[str, frozenset[str]] = {
    name: frozenset(variables.split()) for name, variables in {
        "help": "hospital is_admin topic",
        "onboarding": "hospital name",
        "lesson": "lesson track number total review",
        "quiz": "lesson review",
        "quiz_none": "next_due",
        "quiz_result": "lesson correct chosen right_choice retired next_due",
        "curriculum_done": "done total",
        "profile": "handle items done total hospital x_state x_follows bluesky bluesky_state bluesky_follows linkedin",
        "handle_saved": "handle previous network",
        "handle_invalid": "reason network",
        "handle_taken": "handle network",
        "follow": "hospital follows followed_back handle",
        "video": "posted",
        "meetings": "meetings hospital",
        "meeting_joined": "meeting joined was_registered",
        "meeting_added": "meeting invited",
        "meeting_form": "",
        "camp": "meeting phases done total today",
        "no_meeting": "upcoming",
        "status": "readiness stages next_step camp hospital handle",
        "snoozed": "until",
        "settings": "changed quiet quiet_own weekends_off lessons lessons_own zone snoozed_until stopped",
        "stopped": "hospital",
        "started": "hospital",
        "report": "report verified hospital stale_days",
        "report_department": "department rows",
        "report_meeting": "meeting attendance today",
        "followback": "rows verified hospital conflicts stale_days",
        "roster": "active inactive departments unreachable teams teams_reached teams_reasons parked",
        "digest": "digest hospital stale_days stories",
        "not_admin": "command",
        "reminder_footer": "",
        "reminder_profile": "handle missing step hospital",
        "reminder_follow": "hospital step",
        "reminder_camp": "meeting phase when day days",
        "unknown_command": "text suggestion",
        "stale_action": "note",
        "networks": "chosen changed is_default skipped",
        "harassment": "case recipients hospital",
        "harassment_case": "case reported hospital",
        "harassment_cases": "cases",
        "harassment_handled": "case changed for_reporter",
        "transcript": "rows total_minutes",
        "story_form": "zone",
        "story_added": "story lifted lift",
        "library_report": "stories departments total",
        "library_report_department": "department counts stories",
        "library": "stories admin",
        "story": "story posts alt_text embargoed countdown lifts state suggestion hospital shares",
    }.items()
}


@dataclass(frozen=True)
class Rendered:
    """A rendered template: its exported ``title`` and ``summary`` and the body text."""

    title: str
    summary: str
    body: str
    exports: dict[str, str]
    """Every other top-level ``{% set %}`` of the template, rendered."""


@dataclass(frozen=True)
class Content:
    curriculum: Curriculum
    profile_items: tuple[ProfileItem, ...]
    camp_phases: tuple[CampPhase, ...]
    catalog: tuple[CatalogMeeting, ...]
    forms: dict[str, FormWords]
    """Each form's words (:mod:`bot.core.forms` defines the forms), by form id."""
    templates: jinja2.Environment
    preflight: PreflightRules
    words: Words
    """Sentences the code names by key (``prompts/words.yaml``)."""
    root: Path

    def render(self, name: str, /, **context: Any) -> Rendered:
        template = self.templates.get_template(f"{name}.j2")
        module = template.make_module(context)
        body = _tidy(str(module))
        title = _tidy(str(getattr(module, "title", "")))
        summary = _tidy(str(getattr(module, "summary", ""))) or body.split("\n\n", 1)[0]
        exports = {key: _tidy(str(value)) for key, value in module.__dict__.items()
                   if not key.startswith("_") and key not in ("title", "summary")}
        return Rendered(title=title, summary=summary, body=body, exports=exports)

    def catalog_meeting(self, key: str) -> CatalogMeeting | None:
        return next((m for m in self.catalog if m.key == key), None)


def _tidy(text: str) -> str:
    """Collapse the blank-line runs that template control blocks leave behind."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def load_content(root: Path) -> Content:
    """Load and validate ``root`` (the prompts folder); raise ContentError on the first problem."""
    errors = check_content(root)
    if errors:
        raise errors[0]
    return _load(root)


def check_content(root: Path) -> list[ContentError]:
    """All problems found, in file order (``rounds content check`` prints every one)."""
    if not root.is_dir():
        return [ContentError(root, None, "content folder not found")]
    errors: list[ContentError] = []
    for step in (_load_curriculum, _load_profile, _load_camp, _load_catalog, _load_forms, _load_templates,
                 load_preflight_rules):
        try:
            step(root)
        except ContentError as exc:
            errors.append(exc)
    errors.extend(check_references(root))  # words.yaml, and every key the code says
    return errors


def _load(root: Path) -> Content:
    return Content(
        curriculum=_load_curriculum(root),
        profile_items=_load_profile(root),
        camp_phases=_load_camp(root),
        catalog=_load_catalog(root),
        forms=_load_forms(root),
        templates=_load_templates(root),
        preflight=load_preflight_rules(root),
        words=load_words(root),
        root=root,
    )


def _slug(fields: Fields, key: str) -> str:
    value = fields.str(key)
    if not SLUG.match(value):
        raise fields.error(key, f"{value!r} must be lowercase words joined by '-'")
    return value


def _items(path: Path, fields: Fields, key: str) -> list[tuple[Fields, Any]]:
    values = fields.list(key)
    lines = values.item_lines if isinstance(values, LocatedList) else []
    return [(Fields(path, value, f"{key}[{i + 1}]", lines[i] if i < len(lines) else None), value)
            for i, value in enumerate(values)]


def _load_curriculum(root: Path) -> Curriculum:
    files = sorted((root / "lessons").glob("*.yaml"))
    if not files:
        raise ContentError(root / "lessons", None, "no lesson files (*.yaml)")
    tracks: list[Track] = []
    lessons_by_track: dict[str, list[Lesson]] = {}
    seen: dict[str, str] = {}
    for path in files:
        doc = Fields(path, load_yaml(path), "file")
        doc.unknown_keys({"track", "lessons"})
        tf = Fields(path, doc.data.get("track"), "track", doc.line_of("track"))
        tf.unknown_keys({"id", "title", "order"})
        track = Track(id=_slug(tf, "id"), title=tf.str("title"), order=tf.int("order", minimum=1))
        if track.id in lessons_by_track:
            raise tf.error("id", f"track {track.id!r} is defined twice")
        if any(t.order == track.order for t in tracks):
            raise tf.error("order", f"order {track.order} is used by another track")
        tracks.append(track)
        lessons_by_track[track.id] = []
        for lf, _ in _items(path, doc, "lessons"):
            lesson = _lesson(path, lf, track.id)
            if lesson.id in seen:
                raise lf.error("id", f"lesson id {lesson.id!r} is already used in {seen[lesson.id]}")
            seen[lesson.id] = path.name
            lessons_by_track[track.id].append(lesson)
    tracks.sort(key=lambda t: t.order)
    ordered = tuple(lesson for t in tracks for lesson in lessons_by_track[t.id])
    if not any(lesson.core for lesson in ordered):
        raise ContentError(root / "lessons", None, "no lesson is marked core: true")
    return Curriculum(tracks=tuple(tracks), lessons=ordered)


def _lesson(path: Path, lf: Fields, track: str) -> Lesson:
    lf.unknown_keys({"id", "title", "core", "networks", "body", "takeaway", "quiz", "sources"})
    lesson_id = _slug(lf, "id")
    lf.what = f"lesson {lesson_id}"
    body = lf.str("body")
    words = len(body.split())
    low, high = LESSON_WORDS
    if not low <= words <= high:
        raise lf.error("body", f"has {words} words; a lesson body has {low}–{high}")
    qf = Fields(path, lf.data.get("quiz"), f"lesson {lesson_id}: quiz", lf.line_of("quiz"))
    qf.unknown_keys({"question", "choices", "answer", "explanation"})
    choices = tuple(str(c).strip() for c in qf.list("choices"))
    if not 2 <= len(choices) <= 5:
        raise qf.error("choices", f"has {len(choices)} choices; a quiz has 2–5")
    if any(not c for c in choices) or len(set(choices)) != len(choices):
        raise qf.error("choices", "choices must be non-empty and different from each other")
    answer = qf.int("answer", minimum=1, maximum=len(choices))
    sources = _sources(path, lf)
    core = lf.bool("core")
    networks = _networks(path, lf)
    if core and networks:
        raise lf.error("networks", "a core lesson is for every physician; only optional lessons name networks")
    quiz = Quiz(question=qf.str("question", max_len=300), choices=choices, answer=answer - 1,
                explanation=qf.str("explanation", max_len=600))
    takeaway = lf.str("takeaway", max_len=300)
    read = sum(len(text.split()) for text in (body, takeaway, quiz.question, quiz.explanation, *choices))
    minutes = reading_minutes(read)
    if minutes > PROMISED_MINUTES:
        raise lf.error("body", f"reads in {minutes} minutes ({read} words at 238 a minute); "
                               f"a lesson promises {PROMISED_MINUTES}: shorten it")
    return Lesson(
        id=lesson_id, track=track, title=lf.str("title", max_len=80), core=core,
        minutes=minutes, body=body, takeaway=takeaway, quiz=quiz, sources=sources, networks=networks,
    )


def _sources(path: Path, fields: Fields) -> tuple[Source, ...]:
    """A ``sources:`` list of ``title`` and ``url``; at least one is required."""
    sources = []
    for sf, _ in _items(path, fields, "sources"):
        sf.unknown_keys({"title", "url"})
        url = sf.str("url")
        if not URL.match(url):
            raise sf.error("url", f"{url!r} is not an http(s) address")
        sources.append(Source(title=sf.str("title"), url=url))
    if not sources:
        raise fields.error("sources", "needs at least one source")
    return tuple(sources)


def _networks(path: Path, fields: Fields) -> tuple[str, ...]:
    if fields.data.get("networks") is None:
        return ()
    values = [str(v).strip().lower() for v in fields.list("networks")]
    unknown = [v for v in values if v not in NETWORKS]
    if unknown or not values:
        raise fields.error("networks", f"{unknown[0] if unknown else '(empty)'!r} is not a network "
                                       f"(networks: {', '.join(NETWORKS)})")
    return tuple(dict.fromkeys(values))


def _load_profile(root: Path) -> tuple[ProfileItem, ...]:
    path = root / "profile.yaml"
    doc = Fields(path, load_yaml(path), "file")
    doc.unknown_keys({"items"})
    items = []
    for f, _ in _items(path, doc, "items"):
        f.unknown_keys({"id", "title", "detail"})
        items.append(ProfileItem(id=_slug(f, "id"), title=f.str("title", max_len=80),
                                 detail=f.str("detail", max_len=400)))
    _unique(path, doc, "items", [i.id for i in items])
    return tuple(items)


def _load_camp(root: Path) -> tuple[CampPhase, ...]:
    path = root / "tweetcamp.yaml"
    doc = Fields(path, load_yaml(path), "file")
    doc.unknown_keys({"phases"})
    phases: list[CampPhase] = []
    item_ids: list[str] = []
    for pf, _ in _items(path, doc, "phases"):
        pf.unknown_keys({"id", "offset_days", "title", "items", "every_meeting_day"})
        offset = pf.int("offset_days", minimum=-60, maximum=30)
        every_day = pf.bool("every_meeting_day")
        if every_day and offset != 0:
            raise pf.error("every_meeting_day", "only the meeting-day phase (offset_days: 0) can repeat each day")
        if phases and offset <= phases[-1].offset_days:
            raise pf.error("offset_days", "phases must be in time order")
        items = []
        for f, _ in _items(path, pf, "items"):
            f.unknown_keys({"id", "title", "detail", "sources"})
            items.append(CampItem(id=_slug(f, "id"), title=f.str("title", max_len=120),
                                  detail=f.str("detail", required=False, max_len=400),
                                  sources=_sources(path, f) if "sources" in f.data else ()))
            item_ids.append(items[-1].id)
            if item_ids.count(items[-1].id) > 1:
                raise f.error("id", f"item id {items[-1].id!r} is used twice")
        if not items:
            raise pf.error("items", "a phase needs at least one item")
        phases.append(CampPhase(id=_slug(pf, "id"), offset_days=offset, title=pf.str("title"),
                                items=tuple(items), every_meeting_day=every_day))
    if not phases:
        raise doc.error("phases", "needs at least one phase")
    return tuple(phases)


def _load_catalog(root: Path) -> tuple[CatalogMeeting, ...]:
    path = root / "meetings.yaml"
    doc = Fields(path, load_yaml(path), "file")
    doc.unknown_keys({"meetings"})
    meetings = []
    for f, _ in _items(path, doc, "meetings"):
        f.unknown_keys({"key", "name", "society", "specialty", "hashtag", "usual_month", "days", "embargo",
                        "dates_note", "sources"})
        hashtag = f.str("hashtag")
        if not re.fullmatch(r"#[A-Za-z][A-Za-z0-9_]*(\{yy\}|\{yyyy\})?[A-Za-z0-9_]*", hashtag):
            raise f.error("hashtag", f"{hashtag!r} must look like #ASCO{{yy}} or #ESCCongress")
        meetings.append(CatalogMeeting(
            key=_slug(f, "key"), name=f.str("name"), society=f.str("society"),
            specialty=f.str("specialty"), hashtag_pattern=hashtag,
            usual_month=f.int("usual_month", minimum=1, maximum=12),
            days=f.int("days", minimum=1, maximum=14), embargo=f.str("embargo", max_len=600),
            dates_note=f.str("dates_note", required=False, max_len=300), sources=_sources(path, f)))
    _unique(path, doc, "meetings", [m.key for m in meetings])
    return tuple(meetings)


FORM_TITLE = 24
"""Slack's limit for a modal's title and submit label."""
PLACEHOLDER = 150
"""Slack's limit for an input's placeholder."""


def _load_forms(root: Path) -> dict[str, FormWords]:
    """``forms.yaml``: the words of every form in :data:`~bot.core.forms.FORMS`, a label for each field."""
    path = root / "forms.yaml"
    doc = Fields(path, load_yaml(path), "file")
    doc.unknown_keys({"forms"})
    forms = Fields(path, doc.data.get("forms"), "forms", doc.line)
    forms.unknown_keys(set(FORMS))
    words: dict[str, FormWords] = {}
    for spec in FORMS.values():
        if spec.id not in forms.data:
            raise ContentError(path, forms.line, f"forms: missing {spec.id!r}")
        form = Fields(path, forms.data[spec.id], f"form {spec.id}", forms.line_of(spec.id))
        form.unknown_keys({"title", "submit", "fields"})
        fields = Fields(path, form.data.get("fields"), f"form {spec.id}: fields", form.line)
        fields.unknown_keys({f.id for f in spec.fields})
        by_id: dict[str, FieldWords] = {}
        for field in spec.fields:
            if field.id not in fields.data:
                raise ContentError(path, fields.line, f"form {spec.id}: fields: missing {field.id!r}")
            f = Fields(path, fields.data[field.id], f"form {spec.id}: field {field.id}", fields.line_of(field.id))
            f.unknown_keys({"label", "placeholder", "hint"})
            by_id[field.id] = FieldWords(label=f.str("label", max_len=150),
                                         placeholder=f.str("placeholder", required=False, max_len=PLACEHOLDER),
                                         hint=f.str("hint", required=False, max_len=300))
        words[spec.id] = FormWords(title=form.str("title", max_len=FORM_TITLE),
                                   submit=form.str("submit", max_len=FORM_TITLE), fields=by_id)
    return words


def _unique(path: Path, doc: Fields, key: str, ids: list[str]) -> None:
    values = doc.data.get(key)
    for index, value in enumerate(ids):
        if value in ids[:index]:
            line = values.line_of(index) if isinstance(values, LocatedList) else None
            raise ContentError(path, line, f"{key}: id {value!r} is used twice")


def _interpolated(value: Any) -> Any:
    """Every ``{{ value }}`` in a template: text is made :func:`~bot.messages.inert`, so a name, a meeting
    or anything a person typed can never become a link; the links a template writes itself stay links."""
    return inert(value) if isinstance(value, str) else value


def _load_templates(root: Path) -> jinja2.Environment:
    folder = root / "templates"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
        autoescape=False, keep_trailing_newline=False, trim_blocks=True, lstrip_blocks=True,
        finalize=_interpolated,
    )
    env.filters["pct"] = lambda count, of: f"{round(100 * count / of) if of else 0}%"
    for name, allowed in TEMPLATES.items():
        path = folder / f"{name}.j2"
        if not path.exists():
            raise ContentError(path, None, "template missing")
        source = path.read_text(encoding="utf-8")
        try:
            parsed = env.parse(source, name=path.name, filename=str(path))
        except jinja2.TemplateSyntaxError as exc:
            raise ContentError(path, exc.lineno, f"template syntax: {exc.message}") from None
        assigned = {node.target.name for node in parsed.find_all((jinja2.nodes.Assign, jinja2.nodes.AssignBlock))
                    if isinstance(node, jinja2.nodes.Assign | jinja2.nodes.AssignBlock)
                    and isinstance(node.target, jinja2.nodes.Name)}
        unknown = jinja2.meta.find_undeclared_variables(parsed) - allowed - assigned - set(env.globals)
        if unknown:
            first = sorted(unknown)[0]
            line = next((n for n, text in enumerate(source.splitlines(), 1)
                         if re.search(rf"\b{re.escape(first)}\b", text)), None)
            raise ContentError(path, line, f"unknown variable {first!r} "
                               f"(this template may use: {', '.join(sorted(allowed))})")
    return env
