"""The injection detector: text in a signal that tries to steer a model, or hides from a reader.

Signal text is quoted into prompts as data (`agents.base.quote_data`), so a capable model
ignores it; a weak or compliant one may not. The detector does not decide anything by itself: it
names the spans, and the `injection` check (`channels.provenance`) sends the pieces of a
flagged trusted or untrusted signal to review with those spans shown. docs/concepts.md lists
the patterns; keep the two in step.

Each pattern has a name (shown in the finding) and is matched case-insensitively:

- `instruction override`: "ignore / disregard / forget / override (all) previous (or prior,
  above, earlier, your) instructions (or prompts, rules, directions, context)".
- `role change`: "you are now", "act as a/an", "pretend to be / pretend you are", "from now on
  you", "new instructions:", "system prompt".
- `role marker`: a line that starts with "system:", "assistant:", "developer:" or "user:", and
  chat-template tokens ("<|im_start|>", "<|system|>", "[INST]", "<<SYS>>", "### Instruction").
- `addressed to a model`: "dear / hey / attention / note to (the) AI (assistant, model, LLM,
  chatbot, language model, GPT)", "if you are an AI (a language model, an assistant)",
  "AI: please write ...".
- `review bypass`: "publish / post ... without review (approval, moderation)", "skip / bypass
  (the) review (approval, moderation, checks)".
- `hidden text`: zero-width characters (U+200B-U+200D outside emoji, U+2060, U+FEFF, U+180E),
  bidi controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), Unicode tag characters
  outside flag sequences, HTML comments, and HTML elements hidden by `hidden`, `aria-hidden`,
  `display:none`, `visibility:hidden` or `font-size:0`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import regex

_Pattern = Any  # the `regex` package ships no type hints

_MODEL = r"(?:ai|a\.i\.|assistant|model|llm|chatbot|chat\s?bot|language\s+model|gpt|bot)"
_PHRASES: tuple[tuple[str, str], ...] = (
    ("instruction override",
     r"\b(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+)*(?:of\s+)?(?:the\s+|your\s+)?"
     r"(?:previous|prior|above|earlier|preceding|former|original|your|system)\s+"
     r"(?:instructions?|prompts?|rules|directions|directives|guidelines|context|messages)\b"),
    ("role change",
     r"\byou\s+are\s+now\b|\bact\s+as\s+an?\b|\bpretend\s+(?:to\s+be|you\s+are)\b"
     r"|\bfrom\s+now\s+on,?\s+you\b|\bnew\s+instructions?\s*:|\bsystem\s+prompt\b"),
    ("role marker",
     r"(?m)^[ \t>*#-]*(?:system|assistant|developer|user)\s*:"
     r"|<\|(?:im_start|im_end|system|user|assistant)\|>|\[/?INST\]|<</?SYS>>|###\s*(?:instruction|system)"),
    ("addressed to a model",
     rf"\b(?:dear|hey|hi|hello|attention|note\s+to|message\s+for)\s+(?:the\s+|any\s+)?{_MODEL}s?\b"
     rf"|\bif\s+you\s+are\s+(?:an?\s+)?{_MODEL}\b"
     rf"|(?m:^|[.!?]\s+)(?:{_MODEL})s?\s*[,:]\s*(?:please\s+)?(?:ignore|write|publish|post|include|say|output|add|use)\b"),
    ("review bypass",
     r"\b(?:publish|post|send|ship)\b[^.\n]{0,60}\bwithout\s+(?:any\s+)?(?:human\s+)?(?:review|approval|moderation)\b"
     r"|\b(?:skip|bypass|avoid)\s+(?:the\s+|any\s+)?(?:human\s+)?(?:review|approval|moderation|checks)\b"),
)
# Invisible characters a reader cannot see but a model reads. A zero-width joiner inside an
# emoji sequence (👩‍💻) and tag characters after a black flag (🏴 subdivision flags) are emoji.
_HIDDEN_CHARS = (
    r"(?<![\p{Extended_Pictographic}\p{Emoji_Modifier}\ufe0f])\u200d"
    r"|[\u200b\u200c\u2060\ufeff\u180e\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]+"
    r"|(?<![\U0001F3F4\U000E0020-\U000E007F])[\U000E0000-\U000E007F]+"
)
_HIDDEN_MARKUP = (
    r"<!--.*?(?:-->|$)"
    r"|<[a-z][^>]*?(?:\shidden\b|aria-hidden\s*=\s*[\"']?true|display\s*:\s*none|visibility\s*:\s*hidden"
    r"|font-size\s*:\s*0(?![.\d]*[1-9]))[^>]*>"
)
_SHOWN = 80  # characters of a span shown in a finding


@dataclass(frozen=True)
class Finding:
    pattern: str  # the pattern's name, e.g. "instruction override"
    start: int
    span: str  # the flagged text as a reader can see it: hidden characters spelled \u200b

    def describe(self) -> str:
        return f'{self.pattern} "{self.span}"'


def detect_injection(text: str) -> list[Finding]:
    """Every span of `text` that matches a documented pattern, in order of appearance."""
    return list(_detect(text))


@lru_cache(maxsize=16)
def _detect(text: str) -> tuple[Finding, ...]:
    # Every check of every piece of a job reads the same signal: scanned once, not per check.
    patterns = [*_compiled_phrases(), ("hidden text", _hidden_markup())]
    findings = [Finding(name, match.start(), _shown(match[0]))
                for name, pattern in patterns for match in pattern.finditer(text)]
    return tuple(sorted([*findings, *hidden_characters(text)], key=lambda finding: finding.start))


def hidden_characters(text: str) -> list[Finding]:
    """Only the invisible characters of `text`, each shown with the words around it."""
    return [Finding("hidden text", match.start(), _shown(_context(text, match)))
            for match in _hidden_chars().finditer(text)]


def _context(text: str, match: Any) -> str:
    # An invisible character alone shows nothing; the words around it say where it is.
    return text[max(0, match.start() - 12): match.end() + 12]


def _shown(span: str) -> str:
    visible = "".join(
        f"\\u{ord(char):04x}" if _hidden_chars().fullmatch(char) or not char.isprintable() and char not in "\n\t"
        else char for char in span
    )
    visible = " ".join(visible.split())
    return visible if len(visible) <= _SHOWN else visible[: _SHOWN - 1] + "…"


@cache
def _compiled_phrases() -> list[tuple[str, _Pattern]]:
    return [(name, regex.compile(pattern, regex.IGNORECASE)) for name, pattern in _PHRASES]


@cache
def _hidden_chars() -> _Pattern:
    return regex.compile(_HIDDEN_CHARS)


@cache
def _hidden_markup() -> _Pattern:
    return regex.compile(_HIDDEN_MARKUP, regex.IGNORECASE | regex.DOTALL)
