"""Verified numbers for marketing, from the facts the daily sync keeps (``store.presence``): the digest's
headline is the share with a verified profile per network, by department and specialty; verified
follows of the hospital; the follow-back worklist from the hospital account's real lists, with
links; stale facts shown as such; changes over the same physicians both weeks."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bot.config import Config, VerifySettings
from bot.core.presence import Presence, Profile, ProfileFacts
from bot.core.verified import Physician, followback_worklist, verified_report
from conftest import ADMIN_EMAIL, NEUROLOGIST_EMAIL, NOW, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL, Chat


def one(replies):
    [reply] = replies
    return reply


def columns(reply, name):
    index = reply.table.headers.index(name)
    return {row[0]: row[index] for row in reply.table.rows}


async def sync(store, people, now, *, x=(), bluesky=(), x_follows=(), bluesky_follows=()):
    """What a sync records: (email, profile) per network, then (email, follows us, we follow back)."""
    for network, found in (("x", x), ("bluesky", bluesky)):
        facts = []
        for email, profile in found:
            person = await store.people.get(people[email].id)
            handle = person.x_handle if network == "x" else person.bluesky_handle
            facts.append((person.id, ProfileFacts(handle, profile, f"{network}-{person.id}")))
        await store.presence.record_profiles(network, facts, now)
    for network, follows in (("x", x_follows), ("bluesky", bluesky_follows)):
        await store.presence.record_follows(network, [(people[e].id, f, b) for e, f, b in follows], now)


async def handles(chat, store, people):
    """Jane registers @JaneRiveraMD (X) and a Bluesky handle; Omar has @OmarHaddadMD from the roster."""
    await chat.say("profile @JaneRiveraMD")
    assert await store.presence.claim(people[PHYSICIAN_EMAIL].id, "bluesky", "jane.bsky.social", NOW) is None


async def test_the_digest_headline_is_the_verified_share_per_network(chat, admin_chat, store, people):
    await handles(chat, store, people)
    await sync(store, people, NOW, x=[(PHYSICIAN_EMAIL, Profile.FOUND), (ONCOLOGIST_EMAIL, Profile.NOT_FOUND)],
               bluesky=[(PHYSICIAN_EMAIL, Profile.FOUND)], x_follows=[(PHYSICIAN_EMAIL, True, False)])
    digest = one(await admin_chat.say("digest"))
    body = digest.body
    assert "- Verified profile on X (verified): 1 (33%)" in body
    assert "- Verified profile on Bluesky (verified): 1 (33%)" in body
    assert "- Follow the hospital on X (verified): 1 (33%)" in body
    assert "- Follow the hospital on Bluesky (verified): 0 (0%)" in body
    # Omar's X handle is self-reported and counts there, not as verified.
    assert "- Have a professional profile (self-reported): 2 (67%)" in body
    assert columns(digest, "X profile (verified)") == {
        "Cardiology": "100%", "Neurology": "0%", "Oncology": "0%", "Riverside University Hospital": "33%"}
    assert columns(digest, "Follow us on X (verified)")["Cardiology"] == "100%"
    assert ("**Verified profiles by specialty** (X / Bluesky): Cardiologist 100% / 100% of 1; "
            "Medical Oncologist 0% / 0% of 1; Neurologist 0% / 0% of 1.") in body
    report = one(await admin_chat.say("report"))
    assert ("- Verified profile on X: 1 (33%), follow the hospital there (verified): 1 (33%), followed back "
            "(verified): 0; 1 handle not found, 0 not checked yet") in report.body
    assert "- Verified profile on Bluesky: 1 (33%)" in report.body


async def test_verified_changes_compare_the_same_physicians_and_stale_facts_say_so(
        coach, clock, chat, admin_chat, store, people):
    await handles(chat, store, people)
    await sync(store, people, NOW, x=[(PHYSICIAN_EMAIL, Profile.FOUND), (ONCOLOGIST_EMAIL, Profile.NOT_FOUND)])
    assert await coach.save_weekly_snapshot(clock.now())
    clock.advance(timedelta(days=8))
    # This week's sync finds Omar's account (he made it public); Jane's X facts are not checked again.
    await sync(store, people, clock.now(), x=[(ONCOLOGIST_EMAIL, Profile.FOUND)])
    digest = one(await admin_chat.say("digest"))
    assert ("- Verified profile on X (verified): 2 (67%, +33 pts since last week; 1 checked more than 7 days ago, "
            "stale)") in digest.body
    assert "- Verified profile on Bluesky (verified): 0 (0%, +0 pts since last week)" in digest.body
    assert columns(digest, "X profile change, pts") == {
        "Cardiology": "+0", "Neurology": "+0", "Oncology": "+100", "Riverside University Hospital": "+33"}
    report = one(await admin_chat.say("report"))
    assert "1 checked more than 7 days ago (stale)" in report.body


@pytest.mark.parametrize("config", [Config(admins=(ADMIN_EMAIL,), verify=VerifySettings(stale_days=30))])
async def test_how_old_a_stale_fact_is_comes_from_rounds_yaml(coach, clock, chat, admin_chat, store, people):
    await handles(chat, store, people)
    await sync(store, people, NOW, x=[(PHYSICIAN_EMAIL, Profile.FOUND)])
    clock.advance(timedelta(days=8))
    digest = one(await admin_chat.say("digest"))
    assert "stale" not in digest.body, "8 days is fresh when verify.stale_days is 30"
    clock.advance(timedelta(days=23))
    digest = one(await admin_chat.say("digest"))
    assert "checked more than 30 days ago, stale" in digest.body


async def test_the_followback_worklist_comes_from_the_hospitals_real_lists(clock, chat, admin_chat, store, people):
    await handles(chat, store, people)
    await chat.press("follow:done")  # Jane says she follows; the networks will say more
    lena = Chat(chat.coach, NEUROLOGIST_EMAIL)
    await lena.say("profile @LenaParkMD")
    await lena.press("follow:done")  # nobody has checked Lena's follows: her word stands
    await sync(store, people, NOW, x=[(PHYSICIAN_EMAIL, Profile.FOUND), (ONCOLOGIST_EMAIL, Profile.FOUND)],
               bluesky=[(PHYSICIAN_EMAIL, Profile.FOUND)],
               x_follows=[(PHYSICIAN_EMAIL, True, False), (ONCOLOGIST_EMAIL, True, True)],
               bluesky_follows=[(PHYSICIAN_EMAIL, True, False)])
    worklist = one(await admin_chat.say("followback"))
    assert worklist.text == "3 physicians follow the hospital and wait for a follow back."
    assert worklist.table.headers == ("Physician", "Department", "Network", "Profile", "Source")
    assert worklist.table.rows == (
        ("Dr. Jane Rivera", "Cardiology", "X", "[JaneRiveraMD](https://x.com/JaneRiveraMD)", "verified Mon 2 Mar 2026"),
        ("Dr. Jane Rivera", "Cardiology", "Bluesky", "[jane.bsky.social](https://bsky.app/profile/jane.bsky.social)",
         "verified Mon 2 Mar 2026"),
        ("Dr. Lena Park", "Neurology", "X", "[@LenaParkMD](https://x.com/LenaParkMD)", "self-reported"))
    # Omar is followed back (verified): not listed. Only the self-reported row has a button.
    assert [b.action for b in worklist.buttons] == [f"followback:{people[NEUROLOGIST_EMAIL].id}"]
    assert "**Verified** from the hospital account's own lists: 2 physicians follow" in worklist.body
    digest = one(await admin_chat.say("digest"))
    assert "**Follow-back worklist:** 3 physicians waiting" in digest.body

    clock.advance(timedelta(days=8))
    later = one(await admin_chat.say("followback"))
    assert [row[4] for row in later.table.rows] == ["verified Mon 2 Mar 2026, stale"] * 2 + ["self-reported"]
    assert "2 of these were last checked more than 7 days ago (stale)" in later.body


def test_verified_hospital_numbers_are_the_sum_of_departments_and_of_specialties():
    rng = random.Random(7)
    departments, specialties = ["Cardiology", "Oncology", "Neurology"], ["Cardiologist", "Oncologist", "Surgeon", ""]
    now = NOW

    def presence(pid: int, network: str) -> Presence | None:
        if rng.random() < 0.3:
            return None
        at = now - timedelta(days=rng.randint(0, 14))
        return Presence(pid, network, f"h{pid}", profile=rng.choice(list(Profile)), profile_verified_at=at,
                        follows_hospital=rng.choice([True, False, None]), follows_verified_at=at,
                        followed_back=rng.choice([True, False, None]), followed_back_verified_at=at)

    physicians = []
    for pid in range(1, 300):
        found = {net: p for net in ("x", "bluesky") if (p := presence(pid, net)) is not None}
        physicians.append(Physician(pid, f"Dr. {pid}", rng.choice(departments), rng.choice(specialties),
                                    {"x": f"h{pid}" if rng.random() < 0.8 else None, "bluesky": None}, found))
    report = verified_report("Riverside", physicians, now, timedelta(days=7))
    for net in ("x", "bluesky"):
        hospital = report.hospital.networks[net]
        for groups in (report.departments, report.specialties):
            total = groups[0].networks[net]
            for group in groups[1:]:
                total = total + group.networks[net]
            assert total == hospital
        assert hospital.physicians == len(physicians)
        weighted = sum(g.networks[net].physicians * g.networks[net].pct(g.networks[net].verified)
                       for g in report.departments) / hospital.physicians
        assert abs(hospital.pct(hospital.verified) - weighted) <= 1  # each department's share is rounded
    worklist = followback_worklist(physicians, now, timedelta(days=7))
    assert all(row.stale == (now - row.verified_at > timedelta(days=7)) for row in worklist)
    assert [r.network for r in worklist] == sorted((r.network for r in worklist), key=("x", "bluesky").index)


async def test_the_digest_notification_names_networks_as_they_are_spelled(admin_chat):
    digest = one(await admin_chat.say("digest"))
    assert digest.text.startswith("Weekly digest: 3 physicians, average readiness ")
    assert "; 0% verified profile on X (verified); 0% verified profile on Bluesky (verified); " in digest.text
    assert "0% follow the hospital on X (verified)" in digest.text
