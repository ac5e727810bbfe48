"""Lessons and quizzes: the next lesson, reviews that are due, and graded answers."""
from __future__ import annotations

from collections.abc import Mapping

from bot.actions import Stale
from bot.coach.base import Caller, Feature, from_rendered, show_day
from bot.core import curriculum as cur
from bot.core.commands import BadArguments, Command
from bot.core.models import Lesson, networks_of
from bot.core.words import say
from bot.messages import Button, Reply


class Lessons(Feature):
    """``lesson`` and ``quiz``; the ``quiz:<lesson>:<choice>`` answer."""

    async def lesson(self, caller: Caller, command: Command) -> list[Reply]:
        pid = caller.person.id
        return self.next_lesson(caller, await self.store.progress.lessons_done(pid),
                                await self.store.progress.reviews(pid))

    def next_lesson(self, caller: Caller, done: frozenset[str], reviews: Mapping[str, cur.ReviewState]) -> list[Reply]:
        """The next lesson or due review of a physician with these lessons done and these reviews."""
        networks = networks_of(caller.person.networks)
        item = cur.next_item(self.content.curriculum, done, reviews, self.clock.now(), networks)
        lessons = self.content.curriculum.for_networks(networks)  # "lesson 3 of 27" counts only theirs
        if item is None:
            return [self.reply("curriculum_done", "lesson", done=len(done), total=len(lessons),
                               buttons=(Button(self.say("button_my_status"), "cmd:status"), Button(self.say("button_my_networks"), "cmd:networks")))]
        if item.kind == "review":
            return [self.quiz_reply(item.lesson, review=True)]
        number = lessons.index(item.lesson) + 1
        track = self.content.curriculum.track(item.lesson.track)
        rendered = self.content.render("lesson", lesson=item.lesson, track=track, number=number,
                                       total=len(lessons), review=False)
        return [from_rendered(rendered, "lesson", buttons=_choice_buttons(item.lesson),
                              footer=self._sources_line(item.lesson))]

    async def quiz(self, caller: Caller, command: Command) -> list[Reply]:
        reviews = await self.store.progress.reviews(caller.person.id)
        due = cur.due_reviews(reviews, self.clock.now())
        lesson = self.content.curriculum.lesson(due[0]) if due else None
        if lesson is None:
            upcoming = [s.due_at for s in reviews.values() if not s.retired and s.due_at is not None]
            return [self.reply("quiz_none", "quiz", next_due=show_day(min(upcoming), caller.zone) if upcoming else "",
                               buttons=(Button(self.say("button_next_lesson"), "cmd:lesson", "primary"),))]
        return [self.quiz_reply(lesson, review=True)]

    def _sources_line(self, lesson: Lesson) -> str:
        return self.say("lesson_sources", sources="; ".join(f"[{s.title}]({s.url})" for s in lesson.sources))

    def quiz_reply(self, lesson: Lesson, review: bool) -> Reply:
        rendered = self.content.render("quiz", lesson=lesson, review=review)
        return from_rendered(rendered, "quiz", buttons=_choice_buttons(lesson))

    async def answer(self, caller: Caller, arg: str, values: Mapping[str, str]) -> list[Reply]:
        """``quiz:<lesson id>:<1-based choice>``."""
        lesson_id, _, choice_text = arg.rpartition(":")
        lesson = self.content.curriculum.lesson(lesson_id)
        if lesson is None or not choice_text.isdigit() or not 1 <= int(choice_text) <= len(lesson.quiz.choices):
            raise Stale(self.say("quiz_gone"), "lesson")
        now = self.clock.now()
        pid = caller.person.id
        reviews = await self.store.progress.reviews(pid)
        state = reviews.get(lesson_id)
        if state is not None and (state.retired or (state.due_at and state.due_at > now)):
            when = say("quiz_retired") if state.retired else \
                say("quiz_comes_back", day=show_day(state.due_at, caller.zone))
            raise Stale(self.say("quiz_answered", when=when), "lesson")
        choice = int(choice_text) - 1
        try:
            correct = cur.grade(lesson, choice)
        except ValueError:
            raise BadArguments("quiz_not_a_choice", choice=choice + 1, choices=len(lesson.quiz.choices)) from None
        new_state = cur.record_answer(state, lesson_id, correct, now)
        await self.store.progress.save_review(pid, new_state, now)
        await self.store.progress.mark_lesson_done(pid, lesson_id, now)
        rendered = self.content.render(
            "quiz_result", lesson=lesson, correct=correct, chosen=lesson.quiz.choices[choice],
            right_choice=lesson.quiz.choices[lesson.quiz.answer], retired=new_state.retired,
            next_due=show_day(new_state.due_at, caller.zone) if new_state.due_at else "")
        return [from_rendered(rendered, "quiz_result", replace_original=True, footer=self._sources_line(lesson),
                              buttons=(Button(self.say("button_next_lesson"), "cmd:lesson", "primary"),
                                       Button(self.say("button_my_status"), "cmd:status")))]


def _choice_buttons(lesson: Lesson) -> tuple[Button, ...]:
    return tuple(Button(f"{chr(65 + i)}. {choice}", f"quiz:{lesson.id}:{i + 1}")
                 for i, choice in enumerate(lesson.quiz.choices))
