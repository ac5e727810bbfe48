"""The outbox's parked state, on both backends: an uninstall parks a platform's or one address's
unsent messages (and later ones at send time), a reinstall puts them back in line."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.store.outbox import EVERYWHERE, NewMessage


def _messages(now, people):
    ids = [p.id for p in people.values()]
    return [NewMessage("s1", ids[0], "slack", "U1", "lesson", {}, now),
            NewMessage("s2", ids[1], "slack", "U2", "lesson", {}, now),
            NewMessage("t1", ids[2], "teams", "aad-1", "lesson", {}, now),
            NewMessage("t2", ids[3], "teams", "aad-2", "lesson", {}, now)]


async def test_park_and_resume_a_whole_platform_and_one_address(store, people, clock):
    now = clock.now()
    await store.outbox.add(_messages(now, people), now)
    [claimed, *_] = await store.outbox.claim(now, "sender-a", 1, timedelta(minutes=2))  # one in flight
    assert await store.outbox.park("slack", None, "app uninstalled from Slack workspace T1", now) == 2
    assert await store.outbox.park("teams", "aad-2", "the Teams app was uninstalled here", now) == 1
    statuses = {m.dedup_key: m.status for m in await store.outbox.list(["pending", "sending", "parked"])}
    assert statuses == {"s1": "parked", "s2": "parked", "t1": "pending", "t2": "parked"}
    assert claimed.dedup_key == "s1"
    assert await store.outbox.claim(now, "sender-b", 10, timedelta(hours=1)) != []
    targets = {(t.platform, t.address): (t.reason, t.messages) for t in await store.outbox.parked()}
    assert targets == {("slack", EVERYWHERE): ("app uninstalled from Slack workspace T1", 2),
                       ("teams", "aad-2"): ("the Teams app was uninstalled here", 1)}

    # Planned after the uninstall: parked when a sender is about to send it.
    later = now + timedelta(minutes=5)
    await store.outbox.add([NewMessage("s3", None, "slack", "C1", "digest", {}, later)], later)
    [fresh] = await store.outbox.claim(later, "sender-b", 10, timedelta(minutes=2))
    assert await store.outbox.hold_if_parked(fresh) is True
    [t1] = [m for m in await store.outbox.list(["sending"]) if m.platform == "teams"]
    assert await store.outbox.hold_if_parked(t1) is False

    assert await store.outbox.resume("teams", "aad-2", later) == 1
    assert await store.outbox.resume("slack", None, later) == 3
    assert await store.outbox.parked() == []
    counts = Counter(m.status for m in await store.outbox.list(["pending", "sending", "parked"]))
    assert counts == Counter({"pending": 4, "sending": 1})


async def test_an_address_stays_parked_while_its_whole_platform_is(store, people, clock):
    now = clock.now()
    await store.outbox.add(_messages(now, people), now)
    await store.outbox.park("slack", None, "app uninstalled", now)
    assert await store.outbox.resume("slack", "U1", now) == 0
    assert {m.dedup_key for m in await store.outbox.list(["parked"])} == {"s1", "s2"}
