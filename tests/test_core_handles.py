"""X handles: 1–15 letters, digits or underscores; accept @name, name or a profile URL."""
from __future__ import annotations

import pytest

from bot.core.handles import InvalidHandle, normalize_handle


@pytest.mark.parametrize("text, handle", [
    ("DrJaneRivera", "DrJaneRivera"),
    ("@DrJaneRivera", "DrJaneRivera"),
    ("  @dr_jane_2  ", "dr_jane_2"),
    ("a", "a"),
    ("_", "_"),
    ("123456789012345", "123456789012345"),
    ("@abcdefghijklmno", "abcdefghijklmno"),  # exactly 15
    ("https://x.com/DrJaneRivera", "DrJaneRivera"),
    ("http://twitter.com/DrJaneRivera/", "DrJaneRivera"),
    ("https://www.x.com/@DrJaneRivera", "DrJaneRivera"),
    ("X.COM/DrJaneRivera", "DrJaneRivera"),
    ("twitter.com/RiversideUH", "RiversideUH"),
])
def test_valid_handles(text, handle):
    assert normalize_handle(text) == handle


@pytest.mark.parametrize("text, message", [
    ("", "An X handle needs at least one character, like @DrJaneRivera."),
    ("@", "An X handle needs at least one character, like @DrJaneRivera."),
    ("   ", "An X handle needs at least one character, like @DrJaneRivera."),
    ("https://x.com/", "An X handle needs at least one character, like @DrJaneRivera."),
    ("abcdefghijklmnop", "“abcdefghijklmnop” is 16 characters; X handles are at most 15."),
    ("@Dr_Jane_Rivera_MD", "“Dr_Jane_Rivera_MD” is 17 characters; X handles are at most 15."),
    ("dr-jane", "“dr-jane” has characters X does not allow; use letters, digits and underscores only."),
    ("Dr Jane", "“Dr Jane” has characters X does not allow; use letters, digits and underscores only."),
    ("dr.jane", "“dr.jane” has characters X does not allow; use letters, digits and underscores only."),
    ("drjané", "“drjané” has characters X does not allow; use letters, digits and underscores only."),
    ("drjane١", "“drjane١” has characters X does not allow; use letters, digits and underscores only."),
    ("https://facebook.com/jane", "“https://facebook.com/jane” is 25 characters; X handles are at most 15."),
])
def test_invalid_handles(text, message, content):
    with pytest.raises(InvalidHandle) as raised:
        normalize_handle(text)
    assert content.words.of(raised.value.say) == message


def test_invalid_handle_is_a_value_error():
    assert issubclass(InvalidHandle, ValueError)


def test_profile_url_with_share_query_is_accepted() -> None:
    from bot.core.handles import normalize_handle
    assert normalize_handle("https://x.com/DrJaneRivera?s=20") == "DrJaneRivera"
    assert normalize_handle("twitter.com/DrJaneRivera/#top") == "DrJaneRivera"
