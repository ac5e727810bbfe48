"""Verified presence in the store: facts per physician and network, each with when it was verified;
failures keep what was known; a changed handle drops its facts; handles are unique; the sync's cursor."""
from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.handles import InvalidHandle, normalize_bluesky, normalize_for
from bot.core.presence import Fact, Presence, Profile, ProfileFacts, bio_names, follow_fact, profile_fact
from conftest import NEUROLOGIST_EMAIL, NOW, ONCOLOGIST_EMAIL, PHYSICIAN_EMAIL

LATER = NOW + timedelta(days=1)


# -- handles -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, handle", [
    ("jane.bsky.social", "jane.bsky.social"),
    ("@Jane.Bsky.Social", "jane.bsky.social"),
    ("https://bsky.app/profile/jane.bsky.social", "jane.bsky.social"),
    ("bsky.app/profile/dr-rivera.riverside.example/post/3k", "dr-rivera.riverside.example"),
    ("did:plc:ewvi7nxzyoun6zhxrhs64oiz", "did:plc:ewvi7nxzyoun6zhxrhs64oiz"),
    ("did:web:riverside.example", "did:web:riverside.example"),
])
def test_bluesky_handles_accepted(text, handle):
    assert normalize_bluesky(text) == handle
    assert normalize_for("bluesky", text) == handle


@pytest.mark.parametrize("text", ["", "@", "jane", "jane..bsky.social", "-jane.bsky.social", "jane.bsky.123",
                                  "jane_r.bsky.social", "did:plc:", "did:PLC:abc", "a." * 130 + "com"])
def test_bluesky_handles_refused(text):
    with pytest.raises(InvalidHandle):
        normalize_bluesky(text)


def test_x_handles_keep_their_rules():
    assert normalize_for("x", "@DrJaneRivera") == "DrJaneRivera"
    with pytest.raises(InvalidHandle):
        normalize_for("x", "jane.bsky.social")
    with pytest.raises(InvalidHandle):
        normalize_for("x", "a" * 16)


# -- what a fact reads as ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("bio, expected", [
    ("Interventional cardiologist. Views my own.", True),
    ("Cardiology fellow @RiversideUH", True),
    ("Proud to work at Riverside University Hospital", True),
    ("Dad, runner, coffee", False),
    ("Physician at a hospital", False),
    ("", False),
])
def test_bio_names_specialty_or_hospital(bio, expected):
    assert bio_names(bio, "Cardiologist", "Riverside University Hospital", "RiversideUH") is expected


def test_export_values():
    found = Presence(1, "x", "Jane", profile=Profile.FOUND, follows_hospital=False, followed_back=True)
    gone = Presence(1, "x", "Jane", profile=Profile.SUSPENDED)
    assert profile_fact(found, "Jane") is Fact.VERIFIED
    assert profile_fact(gone, "Jane") is Fact.NOT_FOUND
    assert profile_fact(None, "Jane") is Fact.SELF_REPORTED
    assert profile_fact(None, None) is Fact.UNKNOWN
    assert follow_fact(found.follows_hospital, self_reported=True) is Fact.NO
    assert follow_fact(found.followed_back, self_reported=False) is Fact.VERIFIED
    assert follow_fact(None, self_reported=True) is Fact.SELF_REPORTED
    assert follow_fact(None, self_reported=False) is Fact.UNKNOWN


def test_stale_facts():
    fresh = Presence(1, "x", "Jane", profile=Profile.FOUND, profile_verified_at=NOW, follows_verified_at=NOW,
                     followed_back_verified_at=NOW - timedelta(days=3))
    assert fresh.verified_at == NOW - timedelta(days=3)
    assert not fresh.stale(NOW, timedelta(days=7))
    assert fresh.stale(NOW + timedelta(days=5), timedelta(days=7))
    assert Presence(1, "x", "Jane").stale(NOW, timedelta(days=7))


# -- the store ---------------------------------------------------------------------------------------------------

def _found(handle: str, account_id: str, **values) -> ProfileFacts:
    return ProfileFacts(handle, Profile.FOUND, account_id, **values)


async def test_profiles_recorded_with_their_instant(store, people):
    omar = people[ONCOLOGIST_EMAIL]
    kept = await store.presence.record_profiles("x", [(omar.id, _found("OmarHaddadMD", "42", photo=True, pinned=True))],
                                                NOW)
    assert kept == 1
    facts = (await store.presence.get(omar.id))["x"]
    assert (facts.handle, facts.account_id, facts.profile, facts.photo, facts.pinned, facts.link) == \
        ("OmarHaddadMD", "42", Profile.FOUND, True, True, False)
    assert facts.profile_verified_at == NOW and facts.follows_hospital is None
    assert await store.presence.get(people[PHYSICIAN_EMAIL].id) == {}


async def test_answer_about_an_old_handle_is_dropped(store, people):
    jane = people[PHYSICIAN_EMAIL]  # no X handle
    assert await store.presence.record_profiles("x", [(jane.id, _found("Someone", "7"))], NOW) == 0
    assert await store.presence.get(jane.id) == {}


async def test_failed_sync_keeps_every_fact(store, people):
    omar = people[ONCOLOGIST_EMAIL]
    await store.presence.record_profiles("x", [(omar.id, _found("OmarHaddadMD", "42", photo=True))], NOW)
    await store.presence.record_follows("x", [(omar.id, True, False)], NOW)
    await store.presence.record_failure("x", [(omar.id, "OmarHaddadMD")], "429 rate limited", LATER)
    facts = (await store.presence.get(omar.id))["x"]
    assert (facts.profile, facts.photo, facts.follows_hospital, facts.followed_back) == (Profile.FOUND, True, True, False)
    assert facts.profile_verified_at == NOW and facts.follows_verified_at == NOW
    assert (facts.failed_at, facts.failure) == (LATER, "429 rate limited")
    # the next successful answer clears the failure
    await store.presence.record_profiles("x", [(omar.id, _found("OmarHaddadMD", "42"))], LATER)
    assert (await store.presence.get(omar.id))["x"].failed_at is None


async def test_changed_handle_invalidates_its_facts(store, people):
    omar = people[ONCOLOGIST_EMAIL]
    await store.presence.record_profiles("x", [(omar.id, _found("OmarHaddadMD", "42"))], NOW)
    assert await store.presence.claim(omar.id, "x", "omarhaddadmd", NOW) is None  # same handle, other case
    assert "x" in await store.presence.get(omar.id)
    assert await store.presence.claim(omar.id, "x", "OmarOnc", NOW) is None
    assert await store.presence.get(omar.id) == {}
    # through the profile's own claim too
    await store.presence.record_profiles("x", [(omar.id, _found("OmarOnc", "43"))], NOW)
    assert await store.profile.claim_x_handle(omar.id, "OmarMD", NOW) is None
    assert await store.presence.get(omar.id) == {}


async def test_changed_handle_by_any_path_hides_old_facts(store, people):
    lena = people[NEUROLOGIST_EMAIL]
    await store.presence.claim(lena.id, "bluesky", "lena.bsky.social", NOW)
    await store.presence.record_profiles("bluesky", [(lena.id, _found("lena.bsky.social", "did:plc:lena"))], NOW)
    assert (await store.presence.get(lena.id))["bluesky"].exists
    await store.profile.set_x_handle(lena.id, "LenaPark", NOW)  # another network: untouched
    assert "bluesky" in await store.presence.get(lena.id)
    await store.presence.claim(lena.id, "bluesky", None, NOW)
    assert await store.presence.get(lena.id) == {}


async def test_handles_unique_across_physicians(store, people):
    jane, lena = people[PHYSICIAN_EMAIL], people[NEUROLOGIST_EMAIL]
    assert await store.presence.claim(jane.id, "bluesky", "jane.bsky.social", NOW) is None
    holder = await store.presence.claim(lena.id, "bluesky", "Jane.bsky.social".lower(), NOW)
    assert holder is not None and holder.id == jane.id
    assert (await store.people.get(lena.id)).bluesky_handle is None
    holder = await store.presence.claim(jane.id, "x", "omarhaddadmd", NOW)
    assert holder is not None and holder.email == ONCOLOGIST_EMAIL
    assert [c.handle for c in await store.profile.handle_conflicts()] == ["omarhaddadmd"]
    # changeable: Jane moves to another handle and Lena can have the first one
    assert await store.presence.claim(jane.id, "bluesky", "rivera.bsky.social", NOW) is None
    assert await store.presence.claim(lena.id, "bluesky", "jane.bsky.social", NOW) is None


async def test_follow_walk_decides_only_when_complete(store, people):
    omar, lena = people[ONCOLOGIST_EMAIL], people[NEUROLOGIST_EMAIL]
    await store.presence.claim(lena.id, "x", "LenaPark", NOW)
    await store.presence.record_profiles("x", [(omar.id, _found("OmarHaddadMD", "42")),
                                               (lena.id, _found("LenaPark", "43"))], NOW)
    await store.presence.record_follows("x", [(omar.id, False, False), (lena.id, True, False)], NOW)
    run = LATER
    assert await store.presence.mark_seen("x", "follows_hospital", ["42", "999"], run) == 1
    # the walk broke off here: nothing decided yet
    facts = await store.presence.of([omar.id, lena.id])
    assert (facts[omar.id]["x"].follows_hospital, facts[lena.id]["x"].follows_hospital) == (False, True)
    assert await store.presence.settle("x", "follows_hospital", run, LATER) == 1
    facts = await store.presence.of([omar.id, lena.id])
    assert (facts[omar.id]["x"].follows_hospital, facts[lena.id]["x"].follows_hospital) == (True, False)
    assert facts[omar.id]["x"].follows_verified_at == LATER
    assert facts[omar.id]["x"].followed_back is False  # the other walk is its own


async def test_candidates_page_by_id(store, people):
    omar, lena = people[ONCOLOGIST_EMAIL], people[NEUROLOGIST_EMAIL]
    await store.presence.claim(lena.id, "x", "LenaPark", NOW)
    await store.presence.record_profiles("x", [(omar.id, _found("OmarHaddadMD", "42"))], NOW)
    first = await store.presence.candidates("x", 0, 1)
    assert [(c.handle, c.account_id) for c in first] == [("OmarHaddadMD", "42")] or first[0].handle == "LenaPark"
    every = await store.presence.candidates("x", 0, 10)
    assert sorted(c.handle for c in every) == ["LenaPark", "OmarHaddadMD"]
    assert await store.presence.candidates("x", max(c.person_id for c in every), 10) == []
    assert await store.presence.candidates("bluesky", 0, 10) == []


async def test_cursor_and_lease(store, people):
    assert await store.presence.cursor("x") is None
    await store.presence.save_cursor("x", {"phase": "profiles", "after": 12})
    await store.presence.save_cursor("x", {"phase": "followers", "token": "abc"})
    assert await store.presence.cursor("x") == {"phase": "followers", "token": "abc"}
    await store.presence.save_cursor("x", None)
    assert await store.presence.cursor("x") is None
    assert await store.presence.take_lease("verify", "a", NOW, 60)
    assert not await store.presence.take_lease("verify", "b", NOW, 60)
    await store.presence.release_lease("verify", "a")
    assert await store.presence.take_lease("verify", "b", NOW, 60)
