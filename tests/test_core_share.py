"""One-tap share links: each network's composer gets back exactly the text and the link it was given,
whatever they hold; a share token names a story, a network and a message, and only a signed one reads."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from bot.core.share import (
    NETWORKS,
    NotALink,
    ShareRef,
    intent_url,
    intent_urls,
    post_text,
    read_token,
    share_token,
    share_url,
)

LINKS = [
    "https://news.riverside.example/stories/heart-week",
    "https://news.riverside.example/s?id=42&lang=en#top",
    "https://news.riverside.example/a%20b?q=x+y&utm_source=rounds&utm_medium=chat",
    "http://例え.テスト/記事?名前=値",
]
TEXTS = [
    "Our cardiology team opens a new clinic today",
    "Heart week: #CardioTwitter & #MedTwitter, 100% worth it",
    "Proud of our team 🫀🎉👩🏽‍⚕️ — read more",
    "Новая клиника открылась сегодня",
    "新しい心臓クリニックが開院しました",
    "عيادة القلب الجديدة مفتوحة الآن",
    "a+b=c; 50% off? no: ?x=1&y=2 / slash \\ back 'quote' \"double\"",
    "two  spaces,\nnew line and\ttab",
    "",
]


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("text", TEXTS)
def test_x_intent_parses_back_to_the_exact_text_and_link(text, link):
    url = intent_url("x", text, link)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "x.com", "/intent/tweet")
    assert _query(url) == {"text": [text], "url": [link]}


@pytest.mark.parametrize("link", LINKS)
@pytest.mark.parametrize("text", TEXTS)
def test_bluesky_intent_parses_back_to_the_text_with_the_link_at_its_end(text, link):
    url = intent_url("bluesky", text, link)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "bsky.app", "/intent/compose")
    assert _query(url) == {"text": [f"{text} {link}" if text else link]}
    assert _query(url)["text"][0].removesuffix(link).removesuffix(" ") == text


@pytest.mark.parametrize("link", LINKS)
def test_linkedin_share_url_parses_back_to_the_exact_link(link):
    url = intent_url("linkedin", "ignored: LinkedIn takes only the link", link)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/sharing/share-offsite/")
    assert _query(url) == {"url": [link]}


@pytest.mark.parametrize("network", NETWORKS)
def test_nothing_is_left_unescaped(network):
    """Spaces are %20 (never +, which some composers show as a plus), and no reserved character of the
    values reaches the query raw."""
    url = intent_url(network, "a b #c &d ?e =f +g /h", "https://e.example/p?a=1&b=2#frag")
    query = urlsplit(url).query
    assert "+" not in query and " " not in query and "#" not in url and "/" not in query
    assert query.count("&") == (1 if network == "x" else 0)
    assert query.count("=") == (2 if network == "x" else 1)


def test_a_text_that_already_holds_the_link_gets_it_once():
    link = "https://news.riverside.example/s?id=42&x=1"
    text = f"Read it here {link} #HeartWeek"
    assert _query(intent_url("x", text, link)) == {"text": [text]}
    assert _query(intent_url("bluesky", text, link)) == {"text": [text]}
    assert post_text("bluesky", text, link) == text


def test_intent_urls_follow_the_networks_order_and_skip_missing_posts():
    link = "https://news.riverside.example/s"
    urls = intent_urls({"linkedin": "L", "x": "X"}, link)
    assert list(urls) == ["x", "linkedin"]
    assert _query(urls["x"])["text"] == ["X"]


@pytest.mark.parametrize("link", ["", "news.example/s", "javascript:alert(1)", "ftp://e.example/f",
                                  "https:///no-host", "https://e.example/a b", "mailto:a@b.example"])
def test_a_link_that_is_not_an_http_address_is_refused(link):
    for network in NETWORKS:
        with pytest.raises(NotALink):
            intent_url(network, "text", link)


# -- share tokens ------------------------------------------------------------------------------------------
SECRET = "k" * 64


@pytest.mark.parametrize("ref", [ShareRef(1, "x", 1), ShareRef(42, "bluesky", 9_000_000),
                                 ShareRef(2**63, "linkedin", 2**64 - 1)])
def test_a_token_reads_back_to_its_reference(ref):
    token = share_token(SECRET, ref)
    assert read_token(SECRET, token) == ref
    assert len(token) == 44 and token.isascii() and "=" not in token


def test_a_token_carries_nothing_in_clear():
    """Neither the token nor its decoded bytes show the ids, and neighbouring references share nothing."""
    import base64
    first, second = share_token(SECRET, ShareRef(1, "x", 1)), share_token(SECRET, ShareRef(1, "x", 2))
    raw = base64.urlsafe_b64decode(first + "=" * (-len(first) % 4))
    assert raw.count(0) < 8, "the zero bytes of small ids are masked"
    assert sum(a == b for a, b in zip(first, second, strict=True)) < 10


def test_a_token_signed_with_another_secret_or_changed_is_refused():
    ref = ShareRef(7, "bluesky", 99)
    token = share_token(SECRET, ref)
    assert read_token("another secret", token) is None
    assert read_token("", token) is None
    for i in range(len(token)):  # every single-character change
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert read_token(SECRET, changed) is None, i


@pytest.mark.parametrize("token", ["", "x", "a" * 43, "a" * 45, "a" * 44, "%2e%2e" * 8, ("." + "./") * 15,
                                   "é" * 44, "A" * 43 + "=", " " * 44, "\x00" * 44])
def test_a_malformed_token_is_refused(token):
    assert read_token(SECRET, token) is None


def test_a_forged_network_index_is_refused_even_when_signed():
    """A reference for a fourth network cannot come from share_token; read_token refuses it too."""
    import base64
    import hashlib
    import hmac
    import struct
    payload = struct.pack(">BQQ", 3, 1, 1)
    mac = hmac.new(SECRET.encode(), b"share:" + payload, hashlib.sha256).digest()[:16]
    pad = hmac.new(SECRET.encode(), b"share-pad:" + mac, hashlib.sha256).digest()[:17]
    token = base64.urlsafe_b64encode(mac + bytes(a ^ b for a, b in zip(payload, pad, strict=True))).decode()
    assert read_token(SECRET, token) is None
    assert read_token(SECRET, share_token(SECRET, ShareRef(1, "linkedin", 1))) == ShareRef(1, "linkedin", 1)


def test_share_url_is_the_redirect_under_public_url():
    ref = ShareRef(3, "x", 4)
    url = share_url("https://rounds.example.org/", SECRET, ref)
    assert url == "https://rounds.example.org/s/" + share_token(SECRET, ref)
    assert read_token(SECRET, url.rsplit("/", 1)[1]) == ref
    with pytest.raises(ValueError):
        share_token("", ref)
