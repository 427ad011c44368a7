"""Legal review: the rule library (legal_rules.yaml) run over a client's request and a draft.

Each flag quotes its span, names its rule, severity and where it was found, and suggests the
project's own term instead. A flag's id is stable across versions of a piece (the rule, where
it was found and the quoted words), so a person's resolution of it holds until the words
change. High-severity flags block approval until each is resolved (accepted with a note, or
edited away): see app/proposals.py.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from masthead.channels.checks import CheckResult
from masthead.projects import Terms

Severity = Literal["high", "medium", "low"]
Where = Literal["request", "draft"]
# A refusal just before a match ("we do not accept unlimited liability") is not a risky term.
_REFUSAL = re.compile(r"\b(?:not|no|never|cannot|can't|won't|decline|declines|instead\s+of|rather\s+than|"
                      r"without)\b[^.;\n]{0,25}$", re.IGNORECASE)


class LegalRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9\-]{0,40}$")
    severity: Severity
    title: str
    patterns: list[str] = Field(default_factory=list)
    phrases: list[str] = Field(default_factory=list)
    compare: Literal["payment_days", "governing_law"] | None = None
    alternative: str


class RuleLibrary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int = Field(ge=1)
    rules: list[LegalRule] = Field(min_length=1)


@dataclass(frozen=True)
class LegalFlag:
    id: str
    rule: str
    severity: Severity
    title: str
    where: Where
    start: int
    end: int
    quote: str
    alternative: str
    library_version: int

    def line(self) -> str:
        return (f'[{self.id}] {self.severity}: {self.title} in the {self.where}: "{self.quote}"'
                f" (chars {self.start}-{self.end}); propose instead: {self.alternative}")

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "rule": self.rule, "severity": self.severity, "title": self.title, "where": self.where,
                "start": self.start, "end": self.end, "quote": self.quote, "alternative": self.alternative,
                "library_version": self.library_version}


@functools.cache
def rule_library() -> RuleLibrary:
    text = resources.files("masthead.channels").joinpath("legal_rules.yaml").read_text("utf-8")
    return RuleLibrary.model_validate(yaml.safe_load(text))


@functools.cache
def _compiled(rule_id: str) -> tuple[re.Pattern[str], ...]:
    rule = next(r for r in rule_library().rules if r.id == rule_id)
    phrases = [r"\b" + r"\s+".join(re.escape(w) for w in phrase.split()) + r"\b" for phrase in rule.phrases]
    return tuple(re.compile(p, re.IGNORECASE) for p in [*rule.patterns, *phrases])


def _differs(rule: LegalRule, match: re.Match[str], terms: Terms) -> bool:
    """For a comparing rule: does the matched term go beyond the project's?"""
    if rule.compare is None:
        return True
    value = match.group(1) if match.re.groups else None
    if value is None:
        return False
    if rule.compare == "payment_days":
        return int(value) > terms.payment_days
    if terms.governing_law is None:
        return True  # no law of our own set: any law a client names is for a person to read
    ours, theirs = terms.governing_law.lower(), value.lower()
    return ours not in theirs and theirs not in ours


def _flag_id(rule: str, where: Where, quote: str) -> str:
    digest = hashlib.sha256(f"{where}|{' '.join(quote.lower().split())}".encode()).hexdigest()[:6]
    return f"{rule}-{where[0]}{digest}"


def _alternative(rule: LegalRule, terms: Terms) -> str:
    values = terms.model_dump() | {"governing_law": terms.governing_law or "the consultant's country"}
    return rule.alternative.format(**values)


def scan(text: str, where: Where, terms: Terms, *, skip: tuple[tuple[int, int], ...] = ()) -> list[LegalFlag]:
    """Every flag of the library in `text`, in text order; spans inside `skip` are passed over
    (a draft's verbatim quotes of the request, which the request's own scan flags)."""
    library = rule_library()
    flags: dict[str, LegalFlag] = {}
    for rule in library.rules:
        for pattern in _compiled(rule.id):
            for match in pattern.finditer(text):
                start, end = match.span()
                if any(a <= start < b for a, b in skip) or _REFUSAL.search(text[max(0, start - 60):start]):
                    continue
                if not _differs(rule, match, terms):
                    continue
                quote = _sentence_around(text, start, end)
                flag_id = _flag_id(rule.id, where, quote)
                flags.setdefault(flag_id, LegalFlag(flag_id, rule.id, rule.severity, rule.title, where, start, end,
                                                    quote, _alternative(rule, terms), library.version))
    return sorted(flags.values(), key=lambda f: (f.start, f.rule))


def opinion_flags(findings: Sequence[dict[str, Any]], rule_flags: list[LegalFlag], terms: Terms) -> list[LegalFlag]:
    """The model's second opinion as flags: medium severity at most (a model's words never block a
    sign-off), only where no rule flagged the same words already."""
    library = rule_library()
    rules = {rule.id: rule for rule in library.rules}
    flags = []
    for finding in findings:
        rule = rules.get(str(finding["rule"]))
        start, end = int(finding["start"]), int(finding["end"])
        if rule is None or any(f.start < end and start < f.end for f in rule_flags):
            continue
        quote = str(finding["quote"])
        flags.append(LegalFlag(_flag_id(f"model-{rule.id}", "request", quote), f"model:{rule.id}", "medium",
                               f"{rule.title} (the model's reading)", "request", start, end, quote,
                               _alternative(rule, terms), library.version))
    return flags


def _sentence_around(text: str, start: int, end: int) -> str:
    """The quoted span: the match widened to its clause (up to 200 characters), so a reviewer
    reads the term in its context."""
    left = max(text.rfind(stop, 0, start) for stop in (".", "\n", ";")) + 1
    rights = [i for i in (text.find(stop, end) for stop in (".", "\n", ";")) if i >= 0]
    right = min(rights) if rights else len(text)
    quote = text[left:right].strip().lstrip("-*•+ ").strip()
    return quote if len(quote) <= 200 else text[start:end]


def legal_check(flags: list[LegalFlag], resolved: set[str]) -> CheckResult:
    """The `legal` check: fails while a high-severity flag is unresolved; lists every flag."""
    open_high = [f for f in flags if f.severity == "high" and f.id not in resolved]
    if not flags:
        return CheckResult("legal", True, f"no risky terms (rule library v{rule_library().version})")
    listed = "; ".join(f.line() + (" [resolved]" if f.id in resolved else "") for f in flags)
    if open_high:
        return CheckResult("legal", False, f"{len(open_high)} high-severity flag(s) to resolve "
                                           "(masthead review resolve PIECE FLAG --accept --note N, or edit them away): "
                                           + listed)
    return CheckResult("legal", True, f"no unresolved high-severity flag: {listed}")
