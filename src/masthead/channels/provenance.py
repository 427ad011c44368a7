"""Whose words a draft repeats: the provenance and injection checks.

Grounding proves a model did not invent a figure; it cannot prove the figure is the operator's.
Anyone who can post to a hook or write a feed item controls an untrusted signal's text, so:

- `provenance` fails when a draft carries a figure (price, percentage, date, version, count)
  that appears only in untrusted text, not in the operator's facts, disclaimers or an operator
  or trusted signal; or a link whose host is outside the project's allowed domains.
- `injection` fails when the signal is trusted or untrusted and the injection detector flags
  it, or when the draft itself hides characters from its reader. An operator's own signal is
  vouched for by the operator: its findings are shown in the detail, and the check passes.

A failed check sends the piece to review whatever its gate, with the detail as the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from masthead.channels.checks import CheckResult
from masthead.channels.injection import Finding, detect_injection, hidden_characters
from masthead.channels.tokens import Token, distinct_tokens, is_grounded, known_tokens
from masthead.channels.urls import find_links, host_of, is_within
from masthead.events.types import SignalTrust


@dataclass(frozen=True)
class SourceText:
    """A text a draft may draw on, and who vouches for it."""

    text: str
    origin: str  # shown in details: "project facts", "untrusted signal text (webhook:shop:d1)"
    vouched: bool  # the operator's own, or from a source the project trusts


def default_allowed_domains(operator_texts: Iterable[str]) -> frozenset[str]:
    """The hosts the operator's own texts (facts, disclaimers) link to."""
    return frozenset(host_of(link.host) for text in operator_texts for link in find_links(text) if link.host)


def check_provenance(draft: str, sources: Sequence[SourceText], allowed_domains: frozenset[str]) -> CheckResult:
    tokens = distinct_tokens(draft)
    problems = [*_outside_domains(tokens, allowed_domains), *_unvouched_figures(tokens, sources)]
    if problems:
        return CheckResult("provenance", False, "; ".join(problems) + " (a person must confirm them)")
    domains = ", ".join(sorted(allowed_domains)) or "none"
    return CheckResult("provenance", True,
                       f"every figure is vouched for; links stay within the allowed domains ({domains})")


def _outside_domains(tokens: list[Token], allowed: frozenset[str]) -> list[str]:
    allowed_list = ", ".join(sorted(allowed)) or "none are set"
    return [f'"{token.text}" links to {token.host or "no host"}, outside the allowed domains ({allowed_list})'
            for token in tokens if token.is_url and not (token.host and is_within(token.host, allowed))]


def _unvouched_figures(tokens: list[Token], sources: Sequence[SourceText]) -> list[str]:
    """Figures that only unvouched text states. A figure no source states at all is the
    grounding check's to report, not this one's."""
    vouched = known_tokens([source.text for source in sources if source.vouched])
    unvouched = [(source.origin, known_tokens([source.text])) for source in sources if not source.vouched]
    problems: list[str] = []
    for token in tokens:
        if token.is_url or is_grounded(token, *vouched):
            continue
        origins = [origin for origin, known in unvouched if is_grounded(token, *known)]
        if origins:
            problems.append(f'"{token.text}" appears only in {" and ".join(origins)}')
    return problems


def check_injection(draft: str, signal: SourceText, trust: SignalTrust) -> CheckResult:
    signal_findings = detect_injection(signal.text)
    draft_findings = hidden_characters(draft)
    if draft_findings:
        return CheckResult("injection", False, f"the draft hides characters from its reader: "
                                               f"{_listed(draft_findings)} (remove them)")
    if not signal_findings:
        return CheckResult("injection", True, "no instruction-like or hidden text in the signal")
    if trust == "operator":
        return CheckResult("injection", True, f"the operator's own signal has instruction-like or hidden text, "
                                              f"shown and not obeyed: {_listed(signal_findings)}")
    return CheckResult("injection", False, f"{signal.origin} has instruction-like or hidden text: "
                                           f"{_listed(signal_findings)} (a person must review the piece)")


def _listed(findings: list[Finding]) -> str:
    shown = [finding.describe() for finding in findings[:5]]
    more = len(findings) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
