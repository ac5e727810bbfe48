"""The Teams corpus (tests/corpora.py) covers every Bot Framework activity type Teams sends. That each
is answered within 3 s, without a 404, a 5xx other than the SDK's 501 for undeclared invokes, a
traceback or an ERROR, and that what the bot ignores is logged at DEBUG, is tests/test_platforms.py's.
"""
from __future__ import annotations

from corpora import corpus


def test_the_corpus_covers_every_activity_type() -> None:
    kinds = {activity["type"] for _, activity, _ in corpus("http://127.0.0.1:1")}
    assert {"message", "conversationUpdate", "installationUpdate", "invoke", "messageReaction", "typing", "event",
            "endOfConversation", "messageUpdate", "messageDelete", "contactRelationUpdate", "deleteUserData",
            "trace", "handoff", "suggestion", "command"} <= kinds
