"""Content loading and validation: the real prompts load; every broken copy names file:line."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import check_content, load_content
from bot.core import reasons
from bot.yamlsrc import ContentError
from conftest import CONTENT_DIR, DATA_DIR

BROKEN_FIXTURE = DATA_DIR / "content_broken"


@pytest.fixture
def prompts(tmp_path: Path) -> Path:
    """A private copy of the real prompts folder, to break."""
    copy = tmp_path / "prompts"
    shutil.copytree(CONTENT_DIR, copy)
    return copy


def line_of(path: Path, text: str) -> int:
    """1-based line of the only line containing ``text``."""
    hits = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line]
    assert len(hits) == 1, f"{text!r} is on lines {hits} of {path}"
    return hits[0]


def nth_line(path: Path, text: str, n: int) -> int:
    """1-based line of the ``n``-th (1-based) line containing ``text``."""
    return [i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line][n - 1]


def replace(path: Path, old: str, new: str) -> None:
    source = path.read_text(encoding="utf-8")
    assert source.count(old) == 1, f"{old!r} occurs {source.count(old)} times in {path}"
    path.write_text(source.replace(old, new), encoding="utf-8")


def replace_after(path: Path, anchor: str, old: str, new: str) -> None:
    """Replace the first ``old`` after the unique ``anchor``."""
    source = path.read_text(encoding="utf-8")
    assert source.count(anchor) == 1, f"{anchor!r} occurs {source.count(anchor)} times in {path}"
    at = source.index(anchor)
    hit = source.index(old, at)
    path.write_text(source[:hit] + new + source[hit + len(old):], encoding="utf-8")


def only_error(root: Path) -> ContentError:
    errors = check_content(root)
    assert len(errors) == 1, [str(e) for e in errors]
    with pytest.raises(ContentError) as raised:
        load_content(root)
    assert str(raised.value) == str(errors[0])
    return errors[0]


def assert_error(root: Path, path: Path, line: int | None, message: str) -> None:
    error = only_error(root)
    assert (error.path, error.line, error.message) == (str(path), line, message)
    where = f"{path}:{line}" if line else str(path)
    assert str(error) == f"{where}: {message}"


# -- the real content --------------------------------------------------------------------------------------

def test_real_content_is_valid():
    assert check_content(CONTENT_DIR) == []


def test_real_content_loads(content):
    c = content
    assert len(c.curriculum.tracks) == 8
    assert len(c.curriculum.lessons) == 33
    assert len(c.curriculum.core_ids) == 8
    assert [i.id for i in c.profile_items] == ["photo", "bio", "link", "pinned"]
    assert [p.id for p in c.camp_phases] == ["t-14", "t-7", "t-1", "day-of", "day-after"]
    assert sum(len(p.items) for p in c.camp_phases) == 31
    assert [p.every_meeting_day for p in c.camp_phases] == [False, False, False, True, False]
    assert len(c.catalog) == 20
    why = c.curriculum.lesson("why-show-up")
    assert (why.track, why.core, why.minutes, why.quiz.answer, len(why.quiz.choices)) == (
        "getting-started", True, 2, 1, 4)
    assert why.sources[0].url == "https://www.jmir.org/2018/11/e289"
    assert c.catalog_meeting("asco").hashtag_for(2027) == "#ASCO27"
    assert c.catalog_meeting("ddw").hashtag_for(2027) == "#DDW2027"
    assert c.catalog_meeting("nope") is None


def test_lessons_follow_track_order_then_file_order(content):
    lessons = content.curriculum.lessons
    assert [lesson.id for lesson in lessons[:6]] == [
        "why-show-up", "handle-name-photo", "the-160-character-bio", "checkmarks-today", "post-mechanics",
        "twelve-word-rule"]
    assert lessons[-1].id == "education-not-advice"


def test_render_exports_title_summary_and_other_sets(content):
    rendered = content.render("profile", handle="DrJane", items=content.profile_items, done=1, total=4,
                              hospital={"name": "Riverside", "handle": "RiversideUH"})
    assert rendered.title == "Your professional profile"
    assert rendered.summary == "Your X handle is @DrJane; 1 of 4 profile items done."
    assert rendered.exports == {"checklist_title": "Profile checklist"}
    assert rendered.body.startswith("Your X handle: **@DrJane** ([view profile](https://x.com/DrJane))\n\nTick")
    assert "\n\n\n" not in rendered.body


def test_render_summary_defaults_to_the_first_paragraph(tmp_path, prompts):
    # A template that sets no summary: the first paragraph stands in for it.
    (prompts / "templates" / "stopped.j2").write_text("First paragraph\nstill first.\n\n\n\nSecond.\n")
    rendered = load_content(prompts).render("stopped", hospital={})
    assert rendered.summary == "First paragraph\nstill first."
    assert rendered.body == "First paragraph\nstill first.\n\nSecond."
    assert rendered.title == ""


def test_pct_filter(content):
    env = content.templates
    assert env.from_string("{{ 1 | pct(3) }} {{ 0 | pct(0) }} {{ 3 | pct(4) }}").render() == "33% 0% 75%"


# -- the committed broken fixture ---------------------------------------------------------------------------

def test_broken_fixture_reports_file_and_line(prompts):
    shutil.copytree(BROKEN_FIXTURE, prompts, dirs_exist_ok=True)
    path = prompts / "lessons" / "06-broken.yaml"
    assert line_of(path, "answer: 4") == 29
    assert_error(prompts, path, 29, "lesson broken-answer: quiz: answer: must be between 1 and 3, not 4")


# -- lessons ------------------------------------------------------------------------------------------------

def test_quiz_answer_past_the_last_choice(prompts):
    path = prompts / "lessons" / "02-etiquette.yaml"
    replace_after(path, "- id: twelve-word-rule\n", "      answer: 3\n", "      answer: 7\n")  # 4 choices
    assert_error(prompts, path, line_of(path, "answer: 7"),
                 "lesson twelve-word-rule: quiz: answer: must be between 1 and 3, not 7")


def test_quiz_answer_that_is_not_a_number(prompts):
    path = prompts / "lessons" / "01-getting-started.yaml"
    replace(path, "      answer: 2\n", "      answer: two\n")
    assert_error(prompts, path, line_of(path, "answer: two"),
                 "lesson why-show-up: quiz: answer: must be a whole number, not 'two'")


def test_yaml_syntax_error(prompts):
    path = prompts / "lessons" / "03-privacy.yaml"
    replace(path, "  - id: no-name-is-not-anonymous\n", "  - id: [no-name-is-not-anonymous\n")
    error = only_error(prompts)
    assert error.path == str(path)
    assert error.message.startswith("YAML syntax: ")
    # The parser notices the unclosed bracket within the next lines, never before it.
    start = line_of(path, "id: [no-name-is-not-anonymous")
    assert start <= error.line <= start + 2


def test_duplicate_key(prompts):
    path = prompts / "lessons" / "01-getting-started.yaml"
    replace(path, "  - id: why-show-up\n", "  - id: why-show-up\n    id: why-show-up-again\n")
    assert_error(prompts, path, line_of(path, "id: why-show-up-again"), "duplicate key 'id'")


def test_unknown_key_in_a_lesson(prompts):
    path = prompts / "lessons" / "04-conferences.yaml"
    replace(path, "  - id: embargo-basics\n", "  - id: embargo-basics\n    cor: true\n")
    assert_error(prompts, path, line_of(path, "cor: true"),
                 "lessons[2]: cor: unknown key (allowed: body, core, id, networks, quiz, sources, "
                 "takeaway, title)")


def test_missing_title_points_at_the_lesson(prompts):
    path = prompts / "lessons" / "05-advanced.yaml"
    source = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = line_of(path, "- id: threads-and-alt-text")
    title = start + 1
    assert source[title - 1].startswith("    title: ")
    del source[title - 1]
    path.write_text("".join(source), encoding="utf-8")
    assert_error(prompts, path, start, "lesson threads-and-alt-text: missing 'title'")


def test_lesson_id_must_be_a_slug(prompts):
    path = prompts / "lessons" / "05-advanced.yaml"
    replace(path, "  - id: find-your-voice\n", "  - id: Find_Your_Voice\n")
    assert_error(prompts, path, line_of(path, "id: Find_Your_Voice"),
                 "lessons[5]: id: 'Find_Your_Voice' must be lowercase words joined by '-'")


def test_duplicate_lesson_id_across_files(prompts):
    path = prompts / "lessons" / "06-duplicate.yaml"
    broken = (BROKEN_FIXTURE / "lessons" / "06-broken.yaml").read_text(encoding="utf-8")
    path.write_text(broken.replace("id: broken-answer", "id: why-show-up").replace("answer: 4", "answer: 3"))
    assert_error(prompts, path, 9, "lesson why-show-up: id: lesson id 'why-show-up' is already used in "
                                   "01-getting-started.yaml")


def test_lesson_body_word_limits(prompts):
    path = prompts / "lessons" / "06-short.yaml"
    broken = (BROKEN_FIXTURE / "lessons" / "06-broken.yaml").read_text(encoding="utf-8")
    lines = broken.splitlines(keepends=True)
    body_at = next(n for n, line in enumerate(lines, 1) if line.strip() == "body: |")
    del lines[body_at + 1:body_at + 8]  # keep the first of the eight body lines: 14 words
    path.write_text("".join(lines).replace("answer: 4", "answer: 3"), encoding="utf-8")
    assert body_at == 13
    assert_error(prompts, path, 13, "lesson broken-answer: body: has 14 words; a lesson body has 80–200")


def test_quiz_needs_two_choices(prompts):
    path = prompts / "lessons" / "06-one-choice.yaml"
    broken = (BROKEN_FIXTURE / "lessons" / "06-broken.yaml").read_text(encoding="utf-8")
    path.write_text(broken.replace("        - Two\n        - Three\n", "").replace("answer: 4", "answer: 1"))
    assert_error(prompts, path, 25, "lesson broken-answer: quiz: choices: has 1 choices; a quiz has 2–5")


def test_source_url_must_be_http(prompts):
    path = prompts / "lessons" / "06-bad-url.yaml"
    broken = (BROKEN_FIXTURE / "lessons" / "06-broken.yaml").read_text(encoding="utf-8")
    path.write_text(broken.replace("https://example.org/prompts", "ftp://example.org/prompts")
                    .replace("answer: 4", "answer: 3"))
    assert_error(prompts, path, 33, "sources[1]: url: 'ftp://example.org/prompts' is not an http(s) address")


def test_two_tracks_with_the_same_order(prompts):
    path = prompts / "lessons" / "06-same-order.yaml"
    broken = (BROKEN_FIXTURE / "lessons" / "06-broken.yaml").read_text(encoding="utf-8")
    path.write_text(broken.replace("order: 9", "order: 2").replace("answer: 4", "answer: 3"))
    assert_error(prompts, path, 7, "track: order: order 2 is used by another track")


def test_no_core_lesson(prompts):
    for path in (prompts / "lessons").glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace("core: true", "core: false"), encoding="utf-8")
    assert_error(prompts, prompts / "lessons", None, "no lesson is marked core: true")


def test_no_lesson_files(prompts):
    shutil.rmtree(prompts / "lessons")
    (prompts / "lessons").mkdir()
    assert_error(prompts, prompts / "lessons", None, "no lesson files (*.yaml)")


# -- profile, Tweet Camp, catalog ----------------------------------------------------------------------------

def test_duplicate_profile_item(prompts):
    path = prompts / "profile.yaml"
    replace(path, "  - id: link\n", "  - id: bio\n")
    assert_error(prompts, path, nth_line(path, "- id: bio", 2), "items: id 'bio' is used twice")


def test_profile_syntax_error(prompts):
    path = prompts / "profile.yaml"
    replace(path, "    title: A real, current headshot\n", '    title: "A real, current headshot\n')
    error = only_error(prompts)
    assert error.path == str(path)
    assert error.message.startswith("YAML syntax: ")
    assert error.line is not None and error.line >= 3


def test_tweetcamp_phases_out_of_time_order(prompts):
    path = prompts / "tweetcamp.yaml"
    replace(path, "    offset_days: -7\n", "    offset_days: -20\n")
    assert_error(prompts, path, line_of(path, "offset_days: -20"),
                 "phases[2]: offset_days: phases must be in time order")


def test_tweetcamp_item_id_used_twice(prompts):
    path = prompts / "tweetcamp.yaml"
    replace(path, "      - id: pin-intro-post\n", "      - id: official-hashtag\n")
    assert_error(prompts, path, nth_line(path, "- id: official-hashtag", 2),
                 "items[2]: id: item id 'official-hashtag' is used twice")


def test_tweetcamp_offset_out_of_range(prompts):
    path = prompts / "tweetcamp.yaml"
    replace(path, "    offset_days: -14\n", "    offset_days: -90\n")
    assert_error(prompts, path, line_of(path, "offset_days: -90"),
                 "phases[1]: offset_days: must be between -60 and 30, not -90")


def test_catalog_bad_hashtag(prompts):
    path = prompts / "meetings.yaml"
    replace(path, '    hashtag: "#ASCO{yy}"\n', '    hashtag: "ASCO {yy}"\n')
    assert_error(prompts, path, line_of(path, 'hashtag: "ASCO {yy}"'),
                 "meetings[1]: hashtag: 'ASCO {yy}' must look like #ASCO{yy} or #ESCCongress")


def test_catalog_duplicate_key(prompts):
    path = prompts / "meetings.yaml"
    replace(path, "  - key: acc\n", "  - key: asco\n")
    assert_error(prompts, path, nth_line(path, "- key: asco", 2), "meetings: id 'asco' is used twice")


# -- templates ------------------------------------------------------------------------------------------------

def test_template_unknown_variable(prompts):
    path = prompts / "templates" / "status.j2"
    with path.open("a", encoding="utf-8") as f:
        f.write("Thanks, {{ physician_name }}.\n")
    assert_error(prompts, path, line_of(path, "physician_name"),
                 "unknown variable 'physician_name' (this template may use: camp, handle, hospital, next_step, "
                 "readiness, stages)")


def test_template_syntax_error(prompts):
    path = prompts / "templates" / "lesson.j2"
    source = path.read_text(encoding="utf-8").splitlines(keepends=True)
    source.insert(4, "{% if review %}\n")  # line 5, never closed
    path.write_text("".join(source), encoding="utf-8")
    error = only_error(prompts)
    assert (error.path, error.message) == (
        str(path), "template syntax: Unexpected end of template. Jinja was looking for the following tags: "
                   "'elif' or 'else' or 'endif'. The innermost block that needs to be closed is 'if'.")
    assert error.line == len(source)


def test_template_missing(prompts):
    path = prompts / "templates" / "video.j2"
    path.unlink()
    assert_error(prompts, path, None, "template missing")


# -- several problems at once ----------------------------------------------------------------------------------

def test_check_reports_one_problem_per_file_group_and_load_raises_the_first(prompts):
    shutil.copytree(BROKEN_FIXTURE, prompts, dirs_exist_ok=True)
    replace(prompts / "meetings.yaml", "    usual_month: 6 ", "    usual_month: 13 ")
    (prompts / "templates" / "video.j2").unlink()
    errors = check_content(prompts)
    assert [str(e) for e in errors] == [
        f"{prompts}/lessons/06-broken.yaml:29: lesson broken-answer: quiz: answer: must be between 1 and 3, not 4",
        f"{prompts}/meetings.yaml:{line_of(prompts / 'meetings.yaml', 'usual_month: 13')}: "
        "meetings[1]: usual_month: must be between 1 and 12, not 13",
        f"{prompts}/templates/video.j2: template missing",
    ]
    with pytest.raises(ContentError) as raised:
        load_content(prompts)
    assert str(raised.value) == str(errors[0])


def test_missing_folder(tmp_path):
    errors = check_content(tmp_path / "nowhere")
    assert [str(e) for e in errors] == [f"{tmp_path / 'nowhere'}: content folder not found"]


# -- honest reading times, networks, sources everywhere (issue: coaching experts would sign) ----------------

def test_every_real_lesson_reads_in_its_promised_two_minutes(content):
    for lesson in content.curriculum.lessons:
        words = sum(len(t.split()) for t in (lesson.body, lesson.takeaway, lesson.quiz.question,
                                            lesson.quiz.explanation, *lesson.quiz.choices))
        assert lesson.minutes == -(-words // 238) <= 2, (lesson.id, words)


def test_real_networks_lessons_and_core_lessons_apply_to_everyone(content):
    lessons = {lesson.id: lesson for lesson in content.curriculum.lessons}
    assert lessons["bluesky-basics"].networks == ("bluesky",)
    assert lessons["linkedin-basics"].networks == ("linkedin",)
    assert lessons["threads-basics"].networks == ("threads",)
    assert lessons["post-mechanics"].networks == ("x",)
    assert all(not lesson.networks for lesson in lessons.values() if lesson.core)
    for lesson_id in ("when-attacks-come", "doxxing-and-pile-ons", "journal-embargoes-and-preprints",
                      "education-not-advice", "choose-your-networks"):
        assert not lessons[lesson_id].networks and lessons[lesson_id].sources


def test_every_real_catalog_meeting_has_sources_and_the_reviewed_facts(content):
    assert all(m.sources for m in content.catalog)
    assert content.catalog_meeting("aha").days == 4
    assert content.catalog_meeting("acc").usual_month == 3
    assert "odd years" in content.catalog_meeting("rsna").dates_note
    assert "release schedule" in content.catalog_meeting("esmo").embargo


def test_no_lesson_teaches_the_retired_at_handle_rule_or_free_x_analytics(content):
    for lesson in content.curriculum.lessons:
        text = lesson.body.lower()
        assert "follow both" not in text and "treated as a reply" not in text, lesson.id
        if "analytics" in text:
            assert "premium" in text, lesson.id


def test_the_chest_pain_quiz_sends_to_emergency_care(content):
    quiz = content.curriculum.lesson("boundaries-and-dms").quiz
    assert "chest pain" in quiz.question
    assert quiz.choices[quiz.answer].startswith("Tell them to call emergency services now")


def test_year_specific_and_trivia_quizzes_are_judgement_questions(content):
    questions = " ".join(lesson.quiz.question for lesson in content.curriculum.lessons)
    for trivia in ("2024 ASCO", "maximum length", "Who proposed", "limits on Lists", "maximum ratio",
                   "Under AACR's policy"):
        assert trivia not in questions


def test_a_lesson_may_not_set_its_own_minutes(prompts):
    path = prompts / "lessons" / "04-conferences.yaml"
    replace(path, "  - id: embargo-basics\n", "  - id: embargo-basics\n    minutes: 3\n")
    assert_error(prompts, path, line_of(path, "minutes: 3"),
                 "lessons[2]: minutes: unknown key (allowed: body, core, id, networks, quiz, sources, takeaway, title)")


def test_a_lesson_longer_than_two_minutes_is_refused(prompts):
    path = prompts / "lessons" / "06-long.yaml"
    broken = (BROKEN_FIXTURE / "lessons" / "06-broken.yaml").read_text(encoding="utf-8")
    long_choice = "a choice that goes on " * 80  # 400 more words to read
    path.write_text(broken.replace("answer: 4", "answer: 3").replace("        - One\n", f"        - One {long_choice}\n"))
    error = only_error(prompts)
    assert error.message.startswith("lesson broken-answer: body: reads in 3 minutes (")
    assert error.message.endswith("words at 238 a minute); a lesson promises 2: shorten it")


@pytest.mark.parametrize("networks, message", [
    ("[myspace]", "lesson broken-answer: networks: 'myspace' is not a network (networks: x, bluesky, linkedin, threads)"),
    ("[]", "lesson broken-answer: networks: '(empty)' is not a network (networks: x, bluesky, linkedin, threads)"),
])
def test_unknown_networks_are_refused(prompts, networks, message):
    path = prompts / "lessons" / "06-networks-bad.yaml"
    broken = (BROKEN_FIXTURE / "lessons" / "06-broken.yaml").read_text(encoding="utf-8")
    path.write_text(broken.replace("answer: 4", "answer: 3").replace("    core: false\n",
                                                                     f"    core: false\n    networks: {networks}\n"))
    assert_error(prompts, path, line_of(path, "networks:"), message)


def test_a_core_lesson_cannot_be_limited_to_a_network(prompts):
    path = prompts / "lessons" / "01-getting-started.yaml"
    replace_after(path, "  - id: why-show-up\n", "    core: true\n", "    core: true\n    networks: [x]\n")
    assert_error(prompts, path, nth_line(path, "networks: [x]", 1),
                 "lesson why-show-up: networks: a core lesson is for every physician; only optional lessons name networks")


def test_a_catalog_meeting_needs_a_source(prompts):
    path = prompts / "meetings.yaml"
    replace(path, """    sources:
      - title: "Digestive Disease Week"
        url: https://ddw.org/
""", "")
    start = line_of(path, "- key: ddw")
    assert_error(prompts, path, start, "meetings[10]: missing 'sources'")


def test_a_catalog_source_must_be_an_address(prompts):
    path = prompts / "meetings.yaml"
    replace(path, "url: https://ddw.org/", "url: ddw.org")
    assert_error(prompts, path, line_of(path, "url: ddw.org"), "sources[1]: url: 'ddw.org' is not an http(s) address")


def test_only_the_meeting_day_phase_repeats_each_day(prompts):
    path = prompts / "tweetcamp.yaml"
    replace(path, "    offset_days: -1\n    title: The day before\n",
            "    offset_days: -1\n    title: The day before\n    every_meeting_day: true\n")
    assert_error(prompts, path, nth_line(path, "every_meeting_day: true", 1),
                 "phases[3]: every_meeting_day: only the meeting-day phase (offset_days: 0) can repeat each day")


def test_a_camp_item_source_must_be_an_address(prompts):
    path = prompts / "tweetcamp.yaml"
    replace(path, "url: https://accessibility.engin.umich.edu/hashtags/", "url: umich")
    assert_error(prompts, path, line_of(path, "url: umich"), "sources[1]: url: 'umich' is not an http(s) address")


# -- words the code says (prompts/words.yaml) ------------------------------------------------------------------

def test_a_word_the_code_says_that_words_yaml_lacks_is_named_where_the_code_says_it(prompts: Path):
    import bot.core.commands

    words = prompts / "words.yaml"
    replace(words, "snooze_zero: 'Snooze for at least one hour, or use `stop` to stop reminders.'\n", "")
    code = Path(bot.core.commands.__file__).resolve()
    assert_error(prompts, code, line_of(code, 'BadArguments("snooze_zero")'),
                 f"word 'snooze_zero' is not in {words}")


def test_words_the_core_names_by_key_are_checked_too(prompts: Path):
    """A handle's problem, a readiness stage and the Teams card's words are keys as well."""
    import bot.channels.teams.render
    import bot.core.handles
    import bot.core.readiness

    words = prompts / "words.yaml"
    for key, module, call in (
            ("handle_x_empty", bot.core.handles, 'InvalidHandle("handle_x_empty")'),
            ("readiness_video", bot.core.readiness, 'say("readiness_video")'),
            ("teams_score_of", bot.channels.teams.render, 'words.say("teams_score_of")')):
        text = words.read_text(encoding="utf-8")
        start = text.index(f"\n{key}:") + 1
        words.write_text(text[:start] + text[text.index("\n", start) + 1:], encoding="utf-8")
        code = Path(module.__file__).resolve()
        assert_error(prompts, code, line_of(code, call), f"word {key!r} is not in {words}")
        words.write_text(text, encoding="utf-8")


def test_a_placeholder_the_code_does_not_give_is_named_in_words_yaml(prompts: Path):
    words = prompts / "words.yaml"
    replace(words, "'That date has already passed; pick a day in the future.'",
            "'{day} has already passed; pick a day in the future.'")
    error = only_error(prompts)
    assert (error.path, error.line) == (str(words), line_of(words, "snooze_date_passed:"))
    assert error.message.startswith("snooze_date_passed: {day} is not given by the code that says it (")
    assert "bot/core/commands.py:" in error.message


def test_every_reference_in_the_code_is_checked(prompts: Path, tmp_path: Path):
    from bot.words import check_references

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text(
        "say('snooze_zero')\n"                  # fine
        "say('no_such_word')\n"                 # missing
        "raise BadArguments('snooze_not_a_date')\n"  # {value} not given
        "say(key)\n"                            # not checkable
        "say('snooze_not_a_date', **values)\n",  # values passed through: not checked
        encoding="utf-8")
    errors = check_references(prompts, package)
    words = prompts / "words.yaml"
    assert [(e.path, e.line, e.message) for e in errors] == [
        (str(package / "mod.py"), 2, f"word 'no_such_word' is not in {words}"),
        (str(words), line_of(words, "snooze_not_a_date:"),
         f"snooze_not_a_date: {{value}} is not given by the code that says it ({package / 'mod.py'}:3)"),
        (str(package / "mod.py"), 4, "the words' key must be written out, e.g. say(\"key\")"),
    ]


def test_a_malformed_placeholder_is_refused(prompts: Path):
    words = prompts / "words.yaml"
    replace(words, "'That date has already passed; pick a day in the future.'", "'That date {has passed'")
    error = only_error(prompts)
    assert (error.path, error.line) == (str(words), line_of(words, "snooze_date_passed:"))
    assert "bad placeholder" in error.message


# -- forms ------------------------------------------------------------------------------------------------

def test_real_forms_have_words_for_every_field(content):
    from bot.core.forms import FORMS

    for spec in FORMS.values():
        words = content.forms[spec.id]
        assert list(words.fields) == [f.id for f in spec.fields]
        assert all(w.label for w in words.fields.values())


def test_form_field_without_a_label(prompts):
    path = prompts / "forms.yaml"
    replace(path, "        label: Hashtag\n", "")
    assert_error(prompts, path, line_of(path, 'placeholder: "#HS27"'), "form meetings-add: field hashtag: missing 'label'")


def test_form_field_missing(prompts):
    path = prompts / "forms.yaml"
    replace(path, "      city:\n        label: City\n        placeholder: Chicago\n", "")
    assert_error(prompts, path, line_of(path, "      catalog:"), "form meetings-add: fields: missing 'city'")


def test_form_field_the_form_does_not_have(prompts):
    path = prompts / "forms.yaml"
    replace(path, "      city:\n", "      town:\n")
    assert_error(prompts, path, line_of(path, "      town:"),
                 "form meetings-add: fields: town: unknown key (allowed: attendees, catalog, city, embargo, "
                 "embargo_lifts_date, embargo_lifts_time, end, hashtag, name, start)")


def test_form_submit_label_longer_than_slack_takes(prompts):
    path = prompts / "forms.yaml"
    replace(path, "submit: Add meeting", "submit: Add this meeting to the calendar now")
    assert_error(prompts, path, line_of(path, "submit: Add this meeting"), "form meetings-add: submit: is 36 characters; at most 24")


def test_every_stored_reason_code_is_said_from_words_and_other_text_as_it_is() -> None:
    """bot/core/reasons.py: the database keeps a code, the admins read words.yaml's words for it."""
    words = load_content(CONTENT_DIR).words

    def say(stored: str) -> str:
        return reasons.said(stored, words.say)

    codes = {value for name, value in vars(reasons).items() if name.isupper() and isinstance(value, str)}
    assert len(codes) > 20
    unsaid = [code for code in sorted(codes) if say(code) == code and say(f"{code}:X1") == f"{code}:X1"]
    assert unsaid == [], "every reason code has words in prompts/words.yaml"
    assert say("no_slack_account") == "no Slack account with this email"
    assert say("slack_app_uninstalled:T1") == "app uninstalled from Slack workspace T1"
    assert say("slack_app_uninstalled") == "app uninstalled from the Slack workspace"
    assert say("graph_permission_missing:User.Read.All") == "Graph permission missing: User.Read.All"
    assert say("connector_error:502") == "502 Bot Connector error"
    assert say("graph_error:409:Conflict") == "409 from Graph (Conflict)"
    assert say("graph_error:500") == "500 from Graph (no error code)"
    assert say(reasons.coded(reasons.BOT_ERROR, "KeyError")) == "internal error: KeyError"
    assert say("slack_lookup_waiting:ratelimited") == "waiting for users.lookupByEmail (ratelimited)"
    assert say("slack_directory_waiting") == "waiting for the Slack directory (users.list)"
    assert say("slack_dnd_waiting") == "waiting for Slack Do Not Disturb to end"
    assert say("slack_dnd_stale") == "out of date by the end of the physician's Slack Do Not Disturb"
    assert say("in_doubt:TimeoutError") == "may have arrived; delivery check failed (TimeoutError); checking again"
    assert say("in_doubt") == "may have arrived; checking again"
    for as_is in ("channel_not_found", "app uninstalled from Slack workspace T1",  # Slack's code; older English
                  "Graph permission missing: User.Read.All", "internal error: KeyError", "graph_permission_missing"):
        assert say(as_is) == as_is


def test_reason_codes_are_said_from_maps_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """bot/core/reasons.py: ``said`` looks a code up in module-level maps instead of building its
    lambdas on every call; every code is in one of them, and what is there is what is said."""
    codes = {value for name, value in vars(reasons).items() if name.isupper() and isinstance(value, str)}
    assert codes - set(reasons.SAID_PLAIN) - set(reasons.SAID_WITH_DETAIL) == set()
    assert {reasons.GRAPH_ERROR, reasons.BOT_ERROR} <= set(reasons.SAID_WITH_DETAIL)
    assert reasons.NO_SLACK_ACCOUNT in reasons.SAID_PLAIN

    def say(key: str, **values: object) -> str:
        return f"{key}{sorted(values.items())}"

    monkeypatch.setitem(reasons.SAID_PLAIN, reasons.UNKNOWN, lambda say, _: say("reason_replaced"))
    assert reasons.said(reasons.UNKNOWN, say) == "reason_replaced[]"
    assert reasons.said("send_failed:OSError", say) == "reason_send_failed[('error', 'OSError')]"
    assert reasons.said("graph_error:409:Conflict", say) == "reason_graph_error[('code', 'Conflict'), ('status', '409')]"
    assert reasons.said("no_slack_account:", say) == "roster_no_slack_account[]"
    assert reasons.said("no_slack_account:X1", say) == "no_slack_account:X1"
