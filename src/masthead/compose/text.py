"""Text helpers for items: plain text from Markdown, sentences, tokens, and the normal form
used to say whether a draft carries an item."""

from __future__ import annotations

import html
import unicodedata

import regex
from markdown_it.token import Token

from masthead.channels.limits import find_urls

_TAG = regex.compile(r"<(?:[a-zA-Z][^<>]*|/[a-zA-Z][^<>]*|!--.*?--)>", regex.DOTALL)
_SENTENCE_END = regex.compile(r"(?<=[.!?。！？])\s+(?=[\p{Lu}\p{Lo}\d\"'(])|(?<=[。！？])")
_NUMBER = regex.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?\s?(?:%|x\b|ms\b|s\b|k\b|MB\b|GB\b)?")
_VERSION = regex.compile(r"(?<![\w.])v?\d+\.\d+(?:\.\d+)*(?:-[\w.]+)?(?!\w)")
_NAME = regex.compile(r"(?<![\w@])@[\w-]+|`[^`]+`")
_INSTRUCTION = regex.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|guidelines)\b"
    r"|\byou are now\b|\bsystem prompt\b|\bact as\b.{0,30}\b(?:assistant|ai|model)\b"
    r"|\b(?:publish|post)\b.{0,60}\bwithout (?:review|approval|checks?)\b",
    regex.IGNORECASE | regex.DOTALL,
)
_STOP_WORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "into", "is", "it", "its", "of", "on", "or", "our", "that", "the", "this", "to", "was", "we", "were", "will", "with", "you", "your", "now", "now.", "more"]
)
_CJK = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]")


def strip_html(text: str) -> str:
    """Release bodies often carry HTML (<details>, <img>, <br>): keep the words, drop the tags."""
    return html.unescape(_TAG.sub(" ", text))


def plain_inline(inline: Token) -> str:
    """The words of a Markdown inline token: emphasis, code and link markup removed."""
    parts: list[str] = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return " ".join("".join(parts).split())


def split_sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def first_sentence(text: str) -> str:
    sentences = split_sentences(text)
    first = sentences[0] if sentences else text
    return first.rstrip(".。") if len(sentences) > 1 or first.endswith(".") else first


def looks_like_instruction(text: str) -> bool:
    return _INSTRUCTION.search(text) is not None


def numbers_in(text: str) -> tuple[str, ...]:
    inside = [match.span() for match in _VERSION.finditer(text)]  # "3" of "v1.3" is the version's
    return tuple(match[0].strip() for match in _NUMBER.finditer(text)
                 if not any(start <= match.start() < end for start, end in inside))


def versions_in(text: str) -> tuple[str, ...]:
    return tuple(match[0] for match in _VERSION.finditer(text))


def urls_in(text: str) -> tuple[str, ...]:
    return tuple(url.url for url in find_urls(text))


def names_in(text: str) -> tuple[str, ...]:
    return tuple(match[0].strip("`") for match in _NAME.finditer(text))


def normalise(text: str) -> str:
    """Case, width, accents' composition, punctuation and spacing do not matter."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(regex.sub(r"[^\w%.]+|(?<!\d)\.|\.(?!\d)", " ", folded).split())


def word_set(text: str) -> set[str]:
    """The content words of a text; CJK, written without spaces, counts by character."""
    words: set[str] = set()
    for word in normalise(text).split():
        if _CJK.search(word):
            words.update(char for char in word if not char.isspace())
        elif word not in _STOP_WORDS and (len(word) > 2 or any(char.isdigit() for char in word)):
            words.add(word)
    return words


def carries(text_words: set[str], item_text: str) -> bool:
    """Whether a draft (its content words) carries an item: most of the item's content words,
    and every figure of its first sentence, appear in it."""
    # Issue numbers, credits and links are not what an item says: a post may leave them out.
    said = first_sentence(without_references(item_text))
    wanted = word_set(said)
    if not wanted:
        return False
    figures = word_set(" ".join(numbers_in(said)))
    if not figures <= text_words:
        return False
    return len(wanted & text_words) >= max(1, round(0.6 * len(wanted)))


# References and credits that matter in a changelog but not in a post: "(#123)", "(@user)",
# "(abc1234)", "see #123", "PR #123 by @user", "closes", a leading "#123:".
_REFERENCES = regex.compile(
    r"\s*\((?:(?:see\s+)?(?:PR\s+)?(?:#\d+|@[\w-]+|[0-9a-f]{7,40}|https?://\S+)[,;\s]*(?:and\s+)?)+\)"
    r"|[,;]?\s*\b(?:see\s+)?(?:PR\s+)?#\d+(?:\s+by\s+@[\w-]+(?:\[bot\])?)?"
    r"|\s+by\s+@[\w-]+(?:\[bot\])?|,?\s+closes\b\s*$|^\s*#\d+:\s*|\s*https?://\S+",
    regex.IGNORECASE,
)


def without_references(text: str) -> str:
    """`text` without issue/PR numbers, commit hashes, credits and raw links; the post links
    the release, and a reader of a post does not follow #1234."""
    cleaned = _REFERENCES.sub("", text)
    cleaned = regex.sub(r"\s+([.,;:!?])", r"\1", cleaned)
    cleaned = regex.sub(r"\.(?:\s*\.)+", ".", cleaned)
    cleaned = regex.sub(r"(?:[,;:]|\bsee)\s*$", "", " ".join(cleaned.split()), flags=regex.IGNORECASE)
    return cleaned.strip() or text
