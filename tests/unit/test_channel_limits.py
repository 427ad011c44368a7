"""Channel rules and length counting.

The X cases marked "conformance" are ported from twitter-text's conformance suite
(conformance/tests/validate.yml, section WeightedTweetsWithDiscountedEmojiCounterTest, the
v3 configuration, plus UnicodeDirectionalMarkerCounterTest), with their expected weightedLength.
Invisible characters (ZWJ, tags, selectors) are written as escapes.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from masthead.channels.limits import (
    CHANNELS,
    body_length,
    find_urls,
    grapheme_length,
    mastodon_length,
    rule_for,
    x_weighted_length,
)
from masthead.channels.urls import find_links
from masthead.errors import NotFoundError

ZWJ = "\u200d"
FAMILY = ZWJ.join(["\U0001f468", "\U0001f469", "\U0001f467", "\U0001f466"])  # 👨‍👩‍👧‍👦
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"  # tag sequence
POEM = (
    "故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。朱雀桥边野草花，乌衣巷口夕阳斜。"
    "旧时王谢堂前燕，飞入寻常百姓家。朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
    "泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。独在异乡为异客，每逢佳节倍思亲。"
    "遥知兄弟登高处，遍插茱萸少一人。"
)
KANA = "あいうえおかきくけこ"
GENERAL_PUNCTUATION = (
    "This is a tweet with general punctuation characters: "
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b"
    " ‐ ‑ ‒ – — ― ‖  ‗ ‘ ’ ‚ ‛ “ ” „ ‟ ′ ″ ‴ ‵ ‶ ‷"
)
SUPER_LONG_LABEL = "somesuperlongurl" * 40  # 640 characters: not a valid domain label

CONFORMANCE_CASES = [
    pytest.param("Hi http://test.co", 26, id="regular tweet with url"),
    pytest.param("http://test.co", 23, id="just url"),
    pytest.param("285 chars-" + "xxxxxxxxxx-" * 25, 285, id="long tweet"),
    pytest.param(
        "285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299, id="url in the middle"
    ),
    pytest.param("xxxxxxxxxx-" * 24 + " http://www.twitter.com/jack ", 289, id="url at the end"),
    pytest.param("https://www.twitter.com/aloha " * 10, 240, id="10 urls"),
    pytest.param(POEM, 320, id="160 CJK chars"),
    pytest.param("\U0001f637" * 160, 320, id="160 emoji"),
    pytest.param("the" + POEM, 323, id="3 latin + 160 CJK chars"),
    pytest.param(
        "282 chars-" + "xxxxxxxxxx-" * 24 + "xxxxxA\u0301x", 281, id="NFC: A + accent is 1 char"
    ),
    pytest.param("H\U0001f431\u263a" + FAMILY, 7, id="mixed with family ZWJ sequence"),
    pytest.param("😷👾😡🔥💩", 10, id="emoji"),
    pytest.param("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4, id="skin tone and ZWJ"),
    pytest.param(GENERAL_PUNCTUATION, 110, id="general punctuation weighs 1"),
    pytest.param(
        "randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com",
        68,
        id="64-char label is no URL",
    ),
    pytest.param(
        KANA * 12 + " http://" + KANA * 5 + "あいう.com", 358, id="CJK host over 63 punycode chars"
    ),
    pytest.param(
        KANA * 12 + " http://" + KANA * 5 + "あい.com", 264, id="CJK host under 63 punycode chars"
    ),
    pytest.param(FAMILY * 140, 280, id="140 family emoji"),
    pytest.param(
        "Unicode 10.0 emoji: \U0001f92a; \U0001f9d5; \U0001f9d5\U0001f3fe; " + ENGLAND,
        34,
        id="Unicode 10 emoji and tag-sequence flag",
    ),
    pytest.param(
        "Unicode 9.0 emoji: \U0001f920; \U0001f483; \U0001f483\U0001f3fe", 29, id="Unicode 9 emoji"
    ),
    pytest.param("ABC\u202a\uffffABC\ufffe", 12, id="invalid characters still count"),
    pytest.param(
        "\u2066\u202ahttp://foobar.پاکستان/\u202c\u2069", 31, id="directional marks around a URL"
    ),
    # Adapted (the original repeats the label ~750 times): a URL whose label is too long is
    # counted character by character, the valid one after it as 23.
    pytest.param(
        f"Long url: https://{SUPER_LONG_LABEL}.com/foo https://validurl.com",
        len(f"Long url: https://{SUPER_LONG_LABEL}.com/foo ") + 23,
        id="invalid long url then short url",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CONFORMANCE_CASES)
def test_x_weighted_length_matches_twitter_text_conformance(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


# Our own cases, each following a twitter-text rule stated in its id.
RULE_CASES = [
    pytest.param("", 0, id="empty"),
    pytest.param("Ünïcödé ελληνικά кириллица", 26, id="Latin, Greek and Cyrillic weigh 1"),
    pytest.param("日本語のテキスト", 16, id="CJK weighs 2"),
    pytest.param("masthead.dev/docs", 23, id="bare domain with path is a URL"),
    pytest.param("example.com.", 24, id="trailing dot is not part of the URL"),
    pytest.param("See https://example.com/path?x=1.", 4 + 23 + 1, id="URL with query"),
    pytest.param("foo.jp", 6, id="bare one-label ccTLD domain is not a URL"),
    pytest.param("t.co", 23, id=".co is the ccTLD exception"),
    pytest.param("bit.ly/abc", 23, id="ccTLD domain with a path is a URL"),
    pytest.param("setup.py and README.md", 22, id="file names are not URLs"),
    pytest.param("mail user@example.com", 21, id="e-mail address is not a URL"),
    pytest.param("(https://en.wikipedia.org/wiki/Foo_(bar))", 25, id="balanced parens stay in"),
    pytest.param("\u2764\ufe0f\u200d\U0001f525", 2, id="newer ZWJ sequence (heart on fire)"),
    pytest.param("\U0001f9d1\u200d\U0001f9d1\u200d\U0001f9d2", 2, id="newer family sequence"),
    pytest.param("\U0001f9d1\U0001f3fd\u200d\U0001f4bb", 2, id="skin tone inside ZWJ sequence"),
    pytest.param("\U0001f3f3\ufe0f\u200d\U0001f308", 2, id="rainbow flag"),
    pytest.param("1\ufe0f\u20e3#\u20e3", 4, id="keycaps"),
    pytest.param("\U0001f1ef\U0001f1f5\U0001f1fa\U0001f1f8", 4, id="two flags"),
    pytest.param("\u00a9 2024", 6, id="plain copyright sign is a Latin-1 character"),
    pytest.param("\u00a9\ufe0f", 2, id="copyright sign with VS16 is an emoji"),
    pytest.param("\u263a\ufe0e", 4, id="VS15 asks for text, so no emoji discount"),
    pytest.param("Cafe\u0301", 4, id="NFC first"),
]


@pytest.mark.parametrize(("text", "expected"), RULE_CASES)
def test_x_weighted_length_follows_twitter_text_rules(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,!?'\n", max_size=400))
def test_x_counts_plain_latin_text_one_per_character(text: str) -> None:
    assert x_weighted_length(text) == len(text)


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=200))
def test_x_counts_cjk_ideographs_two_each(text: str) -> None:
    assert x_weighted_length(text) == 2 * len(text)


# -- URL detection ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Read https://example.com/path?x=1.", ["https://example.com/path?x=1"]),
        ("http://example.com, then more", ["http://example.com"]),
        ("HTTPS://www.ExaMPLE.COM/index.html", ["HTTPS://www.ExaMPLE.COM/index.html"]),
        ("docs at masthead.dev/docs!", ["masthead.dev/docs"]),
        ("(see example.com)", ["example.com"]),
        ("example.community and example.commx", ["example.community"]),
        # conformance/extract.yml: protocol-less URLs on gTLDs and ccTLDs
        (
            "foo.baz foo.co.jp www.xxxxxxx.baz www.foo.co.uk wwwww.xxxxxxx foo.comm foo.somecom "
            "foo.govedu foo.jp",
            ["foo.co.jp", "www.foo.co.uk"],
        ),
        ("t.co/abcde bit.ly/abcde", ["t.co/abcde", "bit.ly/abcde"]),
        ("http://foo.jp http://fooooo.jp", ["http://foo.jp", "http://fooooo.jp"]),
        ("ftp://example.com my_example.com", []),
        ("https://t.co/abc-def", ["https://t.co/abc"]),
        ("no links here, e.g. 3.5 or v1.2.3", []),
    ],
)
def test_find_urls(text: str, expected: list[str]) -> None:
    assert [url.url for url in find_urls(text)] == expected


def test_find_urls_in_cjk_text_with_positions() -> None:
    # conformance/extract.yml: "Extract URLs without protocol surrounded by CJK characters"
    text = (
        "twitter.comこれは日本語です。example.com中国語t.co/abcde한국twitter.com "
        "example2.comテストtwitter.com/abcde"
    )
    found = [(url.url, url.start, url.end) for url in find_urls(text)]
    assert found == [
        ("twitter.com", 0, 11),
        ("example.com", 20, 31),
        ("t.co/abcde", 34, 44),
        ("twitter.com", 46, 57),
        ("example2.com", 58, 70),
        ("twitter.com/abcde", 73, 90),
    ]
    assert all(text[url.start : url.end] == url.url for url in find_urls(text))


def test_find_urls_options() -> None:
    text = "see foo.jp, example.com and https://a.dev/x"
    assert [u.url for u in find_urls(text)] == ["example.com", "https://a.dev/x"]
    assert [u.url for u in find_urls(text, include_short_domains=True)] == [
        "foo.jp",
        "example.com",
        "https://a.dev/x",
    ]
    assert [u.url for u in find_urls(text, require_protocol=True)] == ["https://a.dev/x"]


# -- links as a reader sees them (the checks' view of the same finder) ------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://tallybook@evil.com/claim now", [("https://tallybook@evil.com/claim", "evil.com")]),
        ("see tallybook@evil.com/claim now", [("tallybook@evil.com/claim", "evil.com")]),
        ("see https://a:b@c@evil.com/x", [("https://a:b@c@evil.com/x", "evil.com")]),
        ("see https://evil.com\\@good.com/x", [("https://evil.com\\@good.com/x", "evil.com")]),
        ("get ftp://files.example.com/a.zip.", [("ftp://files.example.com/a.zip", "files.example.com")]),
        ("ssh://git@code.example.org:2222/r", [("ssh://git@code.example.org:2222/r", "code.example.org")]),
        ("mail bob@evil.ai, please", [("bob@evil.ai", "evil.ai")]),
        ("https://bücher.de/x", [("https://bücher.de/x", "xn--bcher-kva.de")]),
        ("https://xn--bcher-kva.de/x", [("https://xn--bcher-kva.de/x", "xn--bcher-kva.de")]),
        ("HTTPS://WWW.Example.COM/A", [("HTTPS://WWW.Example.COM/A", "www.example.com")]),
        ("(see https://a.dev/Foo_(bar))", [("https://a.dev/Foo_(bar)", "a.dev")]),
        ("bare example.com and foo.jp", [("example.com", "example.com"), ("foo.jp", "foo.jp")]),
        ("ping @alice@mastodon.social", []),  # a remote mention, not a link
        # Found by the property test below: a bare domain whose path holds another link.
        ("x.dev/https://a", [("x.dev/https://a", "x.dev"), ("https://a", "a")]),
        ("no links here", []),
    ],
)
def test_find_links(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(link.url, link.host) for link in find_links(text)] == expected


@pytest.mark.parametrize(
    "text",
    ["see https://tallybook@evil.com/claim", "get ftp://files.example.com/a", "mail bob@evil.ai"],
)
def test_links_only_a_reader_follows_do_not_change_channel_lengths(text: str) -> None:
    # X and Mastodon shorten only what twitter-text calls a link; the rest counts as typed.
    assert find_urls(text) == []
    assert x_weighted_length(text) == len(text) and mastodon_length(text) == len(text)
    assert find_links(text)


@given(st.lists(st.sampled_from([*"ab.-/:@()", " ", "\u00e9", "com", "https://", "ftp://", "x.dev"]), max_size=24))
def test_every_twitter_text_link_is_a_link_to_a_reader(parts: list[str]) -> None:
    text = "".join(parts)
    links = find_links(text)
    for url in find_urls(text, include_short_domains=True):
        assert any(link.start <= url.start and url.end <= link.end for link in links)
    assert all(text[link.start : link.end] == link.url for link in links)


# -- Mastodon, Bluesky and the rest ----------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("read https://example.com/" + "a" * 100, 5 + 23),
        ("a long link http://example.com/x?y=1 and more", 12 + 23 + 9),
        ("example.com needs a protocol", 28),
        ("hi @alice@mastodon.social!", len("hi @alice!")),
        ("hi @alice and @bob@example.org", len("hi @alice and @bob")),
        ("mail alice@example.org", 22),  # not a mention: glued to a word
        (FAMILY, 7),  # code points, not graphemes
        ("日本語", 3),
    ],
)
def test_mastodon_length(text: str, expected: int) -> None:
    assert mastodon_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello", 5),
        (FAMILY, 1),
        ("\U0001f1ef\U0001f1f5", 1),
        ("e\u0301", 1),
        ("\U0001f44d\U0001f3fd ok", 4),
        ("日本語", 3),
    ],
)
def test_grapheme_length(text: str, expected: int) -> None:
    assert grapheme_length(text) == expected


def test_body_length_uses_each_channels_unit() -> None:
    text = "日本 https://example.com " + FAMILY
    assert body_length("x", text) == 4 + 1 + 23 + 1 + 2
    assert body_length("bluesky", text) == 2 + 1 + 19 + 1 + 1
    assert body_length("mastodon", text) == 2 + 1 + 23 + 1 + 7
    for channel in ("linkedin", "newsletter", "email", "blog"):
        assert body_length(channel, text) == len(text) == 2 + 1 + 19 + 1 + 7


# -- rules -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("channel", "limit", "unit", "has_subject", "subject_limit"),
    [
        ("x", 280, "weighted", False, None),
        ("bluesky", 300, "graphemes", False, None),
        ("mastodon", 500, "chars", False, None),
        ("linkedin", 3000, "chars", False, None),
        ("newsletter", None, "chars", True, 60),
        ("email", None, "chars", True, 60),
        ("blog", None, "chars", False, None),
        ("proposal", None, "chars", False, None),
    ],
)
def test_rule_for(
    channel: str, limit: int | None, unit: str, has_subject: bool, subject_limit: int | None
) -> None:
    rule = rule_for(channel)
    assert (rule.name, rule.limit, rule.unit) == (channel, limit, unit)
    assert (rule.has_subject, rule.subject_limit) == (has_subject, subject_limit)


def test_every_channel_has_a_rule() -> None:
    assert CHANNELS == ("x", "bluesky", "mastodon", "linkedin", "newsletter", "email", "blog", "proposal")
    assert [rule_for(channel).name for channel in CHANNELS] == list(CHANNELS)


def test_rule_for_ignores_case_and_spaces() -> None:
    assert rule_for(" LinkedIn ") == rule_for("linkedin")


def test_unknown_channel_names_it_and_lists_the_valid_ones() -> None:
    with pytest.raises(NotFoundError) as raised:
        rule_for("tiktok")
    message = str(raised.value)
    assert "'tiktok'" in message
    assert "x, bluesky, mastodon, linkedin, newsletter, email, blog" in message
    assert raised.value.field == "channel"
    assert raised.value.exit_code == 3


def test_body_length_of_unknown_channel_raises() -> None:
    with pytest.raises(NotFoundError):
        body_length("myspace", "hello")


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a." * 10_000, 20_000),
        ("a_" * 20_000 + ".com", 40_000 + 4),
        ("a-" * 20_000 + ".com", 40_000 + 4),
        ("https://example.com/" + "." * 20_000, 23 + 20_000),
    ],
    ids=["dotted chain", "underscore chain", "hyphen chain", "dotted path"],
)
def test_pathological_inputs_stay_fast(text: str, expected: int) -> None:
    # A backtracking regression here turns seconds into minutes; the timeout catches it.
    assert x_weighted_length(text) == expected
