"""Items: the concrete things a signal says, parsed deterministically before any model runs.

Release notes and changelogs go through a real Markdown parser (markdown-it-py): headings give
sections (Keep a Changelog's Added/Changed/Fixed/Removed/Security/Deprecated, "New",
"Improved"...), list items and paragraphs give items. Conventional commit prefixes
("feat(api): ...") and GitHub's generated lines ("* text by @user in URL") are understood.
Plain text becomes one item per sentence.

Lines that read like instructions to a model ("Ignore all previous instructions...") are not
items: they are not news, and quoting them into a post would carry the attack along.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import regex
from markdown_it import MarkdownIt
from markdown_it.token import Token

from masthead.compose.text import (
    first_sentence,
    looks_like_instruction,
    names_in,
    numbers_in,
    plain_inline,
    split_sentences,
    strip_html,
    urls_in,
    versions_in,
    without_references,
)

MIN_SENTENCE_WORDS = 4  # outside lists, shorter sentences ("Released today.") are not items
MAX_ITEMS = 60  # more than any post can use; a 10,000-bullet changelog keeps its most salient

_SECTION_KINDS: tuple[tuple[str, str], ...] = (
    ("breaking", "breaking"), ("security", "security"), ("deprecat", "deprecated"),
    ("remov", "removed"), ("perf", "perf"), ("fix", "fix"), ("bug", "fix"),
    ("add", "feature"), ("new", "feature"), ("feature", "feature"), ("highlight", "feature"),
    ("chang", "change"), ("improv", "change"), ("enhanc", "change"), ("update", "change"),
    ("doc", "docs"), ("intern", "internal"), ("maint", "internal"), ("chore", "internal"),
    ("depend", "internal"), ("build", "internal"), ("test", "internal"), ("refactor", "internal"),
    ("ci", "internal"), ("misc", "change"), ("other", "change"),
    # Chinese section names ("新功能", "修复", "优化"...).
    ("破坏", "breaking"), ("安全", "security"), ("废弃", "deprecated"), ("移除", "removed"), ("删除", "removed"),
    ("性能", "perf"), ("修复", "fix"), ("新", "feature"), ("优化", "change"), ("改进", "change"),
)
_SKIPPED_SECTIONS = ("contributor", "thank", "acknowledg", "checksum", "sha256", "install", "download", "assets")
_COMMIT_KINDS = {
    "feat": "feature", "feature": "feature", "fix": "fix", "perf": "perf", "security": "security",
    "revert": "change", "refactor": "internal", "docs": "docs", "chore": "internal", "ci": "internal",
    "build": "internal", "test": "internal", "tests": "internal", "style": "internal", "deps": "internal",
}
_COMMIT_PREFIX = regex.compile(r"^(?P<type>[a-zA-Z]+)(?:\((?P<scope>[^)]*)\))?(?P<bang>!)?:\s+")
_GITHUB_TAIL = regex.compile(r"\s+by\s+(@[\w-]+(?:\[bot\])?)(?:\s*(?:,|and)\s*@[\w-]+)*\s+in\s+(\S+)\s*$")
_TRAILING_REFS = regex.compile(r"(?:\s*[(\[]?(?:#\d+|[0-9a-f]{7,40})[)\]]?[,;]?)+\s*$")
_BASE_SALIENCE = {
    "breaking": 3.0, "security": 2.8, "feature": 2.4, "perf": 2.3, "change": 1.8, "removed": 1.6,
    "fix": 1.5, "deprecated": 1.2, "note": 1.0, "docs": 0.5, "internal": 0.3,
}
_WORD_KINDS: tuple[tuple[str, str], ...] = (
    (r"\bbreaking\b", "breaking"), (r"\b(?:cve-\d|security|vulnerab)", "security"),
    (r"\b(?:faster|speed|perf|latency|memory use)", "perf"),
    (r"^(?:fix|fixe[sd]|resolve[sd]?|correct)", "fix"), (r"^(?:add|adds|added|new|introduc|support)", "feature"),
    (r"^(?:remove[sd]?|drop(?:s|ped)?)\b", "removed"), (r"^deprecat", "deprecated"),
)
_USER_WORDS = regex.compile(r"\b(?:you|your|now|new|faster|support|can|automatic|easier|invoices?|users?)\b", regex.I)
_INTERNAL_WORDS = regex.compile(
    r"\b(?:bump(?:ed|s)?|dependabot|refactor|typo|lint|ci|tests?|internal|deps|dependenc(?:y|ies)|pre-commit"
    r"|readme|changelog|github actions?|workflow)\b", regex.I)
_RELEASE_LINK = regex.compile(r"releases?|changelog|compare|blog|news|announc", regex.I)
_VERSION_IN_HEADING = regex.compile(r"(?<![\w.])v?\d+\.\d+(?:\.\d+)*(?:-[\w.]+)?(?!\w)")
_NOTE_HEADINGS = regex.compile(r"^(?:release notes?|changelog|changes|what'?s changed|summary)$", regex.I)


@dataclass(frozen=True)
class Item:
    kind: str  # feature, fix, change, breaking, security, perf, removed, deprecated, docs, internal, note
    text: str  # plain text, markup and trailing credits removed
    section: str | None
    salience: float
    position: int  # order in the signal
    numbers: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        """The item as one short line: its first sentence, without references and credits."""
        return first_sentence(without_references(self.text))

    @property
    def plain(self) -> str:
        """The item's whole text without references and credits."""
        return without_references(self.text)


@dataclass(frozen=True)
class Extraction:
    items: tuple[Item, ...]
    product: str | None
    version: str | None
    link: str | None
    title: str | None
    headings: tuple[str, ...] = ()
    left_out: int = 0  # items dropped by the cap, the least salient
    ignored: tuple[str, ...] = field(default=())  # lines that read like instructions to a model

    @property
    def note(self) -> str:
        notes = []
        if self.left_out:
            notes.append(f"kept the {len(self.items)} most salient items; left out {self.left_out} less salient ones")
        if self.ignored:
            notes.append(f"ignored {len(self.ignored)} line(s) that read like instructions to a model")
        return "; ".join(notes)

    def ranked(self) -> list[Item]:
        """Most salient first; ties keep the signal's order."""
        return sorted(self.items, key=lambda item: (-item.salience, item.position))


@dataclass
class _Walk:
    section: str | None = None
    section_kind: str | None = None
    skipping: bool = False
    releases_seen: int = 0
    done: bool = False
    raw: list[tuple[str, str | None, str | None, tuple[str, ...]]] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    first_heading: str | None = None
    heading_version: str | None = None
    links: list[str] = field(default_factory=list)
    before_release: bool = False


def extract_items(body: str, title: str | None = None, *, max_items: int = MAX_ITEMS) -> Extraction:
    """The items of a signal's body, most salient kept when there are more than `max_items`."""
    walk = _walk_markdown(strip_html(body))
    items: list[Item] = []
    ignored: list[str] = []
    for position, (text, section, section_kind, links) in enumerate(walk.raw):
        if looks_like_instruction(text):
            ignored.append(text)
            continue
        item = _item(text, section, section_kind, links, position)
        if item is not None:
            items.append(item)
    kept = sorted(sorted(items, key=lambda i: (-i.salience, i.position))[:max_items], key=lambda i: i.position)
    heading = title or walk.first_heading
    product, version = _product_and_version(heading, walk.heading_version)
    return Extraction(items=tuple(kept), product=product, version=version, link=_release_link(walk.links),
                      title=heading, headings=tuple(walk.headings), left_out=len(items) - len(kept),
                      ignored=tuple(ignored))


_PARSERS = threading.local()


def _parser() -> MarkdownIt:
    """This thread's parser, built once: building one took 77 µs, a third of parsing the demo's
    release notes with it (223 µs; `python -m timeit` on `MarkdownIt("commonmark").enable("table")`
    and on `.parse(text)`, 2026-12-07). Parsing keeps its state per call, so a thread may reuse it."""
    parser: MarkdownIt | None = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = MarkdownIt("commonmark").enable("table")
    return parser


def _walk_markdown(body: str) -> _Walk:
    tokens = _parser().parse(body)
    walk = _Walk()
    # A changelog file opens with a preamble ("All notable changes..."): with a release heading
    # further down, what comes before the first one is not news.
    walk.before_release = any(t.type == "inline" and tokens[i - 1].type == "heading_open" and _is_release(t.content)
                              for i, t in enumerate(tokens)) and not _is_release(_first_heading(tokens))
    depth = 0  # list nesting: a nested bullet is an item of its own
    for index, token in enumerate(tokens):
        if walk.done:
            break
        if token.type == "heading_open":
            walk.links.extend(_hrefs(tokens[index + 1]))  # "## [1.2.0](.../compare/v1.1.0...v1.2.0)"
            _on_heading(walk, plain_inline(tokens[index + 1]))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif token.type == "inline" and tokens[index - 1].type == "paragraph_open":
            if walk.skipping or walk.before_release:
                walk.links.extend([*_hrefs(token), *urls_in(plain_inline(token))])  # "**Full Changelog**: URL"
            else:
                _on_paragraph(walk, token, in_list=depth > 0)
        elif token.type == "fence" and not walk.skipping:
            continue  # code blocks are examples, not news
    return walk


def _is_release(heading: str) -> bool:
    return len(heading) < 80 and _VERSION_IN_HEADING.search(heading) is not None


def _first_heading(tokens: list[Token]) -> str:
    return next((t.content for i, t in enumerate(tokens) if t.type == "inline" and tokens[i - 1].type == "heading_open"), "")


def _on_heading(walk: _Walk, text: str) -> None:
    walk.headings.append(text)
    if walk.first_heading is None:
        walk.first_heading = text
    version = _VERSION_IN_HEADING.search(text)
    if version is not None and _is_release(text):
        walk.before_release = False
        # A changelog file holds many releases: the signal is about the first one in it.
        if walk.releases_seen and walk.raw:
            walk.done = True
            return
        walk.releases_seen += 1
        walk.heading_version = walk.heading_version or version[0]
        walk.section, walk.section_kind, walk.skipping = None, None, False
        return
    lowered = text.casefold()
    walk.skipping = any(word in lowered for word in _SKIPPED_SECTIONS)
    walk.section = text
    walk.section_kind = next((kind for word, kind in _SECTION_KINDS if word in lowered), None)


def _hrefs(inline: Token) -> tuple[str, ...]:
    return tuple(str(child.attrs.get("href", "")) for child in inline.children or [] if child.type == "link_open")


def _on_paragraph(walk: _Walk, inline: Token, *, in_list: bool) -> None:
    links = _hrefs(inline)
    text = plain_inline(inline)
    walk.links.extend(links)
    walk.links.extend(urls_in(text))
    if in_list:
        walk.raw.append((text, walk.section, walk.section_kind, links))
        return
    if regex.match(r"^\**full changelog\**\s*:", text, regex.I):
        return
    for sentence in split_sentences(text):
        # "Released today." is not news; a sentence of news has a few words.
        if len(sentence.split()) >= MIN_SENTENCE_WORDS:
            walk.raw.append((sentence, walk.section, walk.section_kind or "note", ()))


def _item(text: str, section: str | None, section_kind: str | None, links: tuple[str, ...],
          position: int) -> Item | None:
    names: list[str] = []
    tail = _GITHUB_TAIL.search(text)
    if tail is not None:
        names.append(tail.group(1))
        links = (*links, tail.group(2))
        text = text[:tail.start()]
    kind = section_kind
    commit = _COMMIT_PREFIX.match(text)
    if commit is not None and commit.group("type").lower() in _COMMIT_KINDS:
        kind = "breaking" if commit.group("bang") else _COMMIT_KINDS[commit.group("type").lower()]
        text = text[commit.end():]
        text = text[:1].upper() + text[1:]
    text = _TRAILING_REFS.sub("", text).strip(" -–—:;,")
    if len(regex.findall(r"\w+", text)) < 2 or _NOTE_HEADINGS.match(text):
        return None
    kind = _kind_from_words(text, kind)
    return Item(kind=kind, text=text, section=section, salience=_salience(kind, text, position),
                position=position, numbers=numbers_in(text), versions=versions_in(text),
                links=tuple(dict.fromkeys((*links, *urls_in(text)))), names=tuple(dict.fromkeys((*names, *names_in(text)))))


def _kind_from_words(text: str, kind: str | None) -> str:
    lowered = text.casefold()
    for pattern, word_kind in _WORD_KINDS:
        # The section wins, except that breaking and security news is always marked as such.
        overrides = kind is None or kind in ("note", "change") or word_kind in ("breaking", "security")
        if overrides and regex.search(pattern, lowered):
            return word_kind
    return kind or "change"


def _salience(kind: str, text: str, position: int) -> float:
    score = _BASE_SALIENCE.get(kind, 1.0)
    score -= min(position, 20) * 0.02  # earlier is usually more important
    if numbers_in(text):
        score += 0.4  # figures make a post concrete
    if _USER_WORDS.search(text):
        score += 0.3
    if _INTERNAL_WORDS.search(text):
        score -= 1.0
    words = len(text.split())
    if words < 4:
        score -= 0.4
    if len(text) > 240:
        score -= 0.3
    return round(score, 3)


def _product_and_version(heading: str | None, heading_version: str | None) -> tuple[str | None, str | None]:
    if not heading:
        return None, heading_version
    version = _VERSION_IN_HEADING.search(heading)
    name = heading[:version.start()] if version else heading
    name = regex.sub(r"(?i)\b(?:release notes?|changelog|what'?s new in|release|version|is out)\b", "", name)
    name = regex.sub(r"[\[\]#:\-–—()]+", " ", name)
    name = " ".join(name.split())
    return (name or None), (version[0] if version else heading_version)


def _release_link(links: list[str]) -> str | None:
    for link in links:
        if link.startswith("http") and _RELEASE_LINK.search(link) and "/pull/" not in link and "/issues/" not in link:
            return link
    return None
