"""The price of a proposal, computed from the rate card: never by a model.

The scope is what the request lists under a deliverables heading (each matched to a rate-card
item), or, when it lists none, the client's deliverables from the project. A requested item the
rate card has no price for is a line with no amount, flagged "no price: decide": a person
decides, nothing is invented. The table is rendered here, and the compliance check compares
every amount in a draft with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from masthead.compose.requirements import requested_items
from masthead.projects import Project

NO_PRICE = "no price: decide"


@dataclass(frozen=True)
class PriceLine:
    item: str  # the rate-card item (or the request's words when no item matches)
    requested_as: str  # the request's words for it
    amount: Decimal | None  # None: no price on the rate card


@dataclass(frozen=True)
class PriceTable:
    currency: str
    lines: tuple[PriceLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.amount is not None), Decimal(0))

    @property
    def unpriced(self) -> list[str]:
        return [line.requested_as for line in self.lines if line.amount is None]

    def markdown(self) -> str:
        """The price table as the proposal shows it: every amount and the total written by code."""
        rows = ["| Item | Price |", "| --- | ---: |"]
        rows += [f"| {_cell(line.item)} | {money(line.amount, self.currency) if line.amount is not None else NO_PRICE} |"
                 for line in self.lines]
        label = "Total (items without a price excluded)" if self.unpriced else "Total"
        rows.append(f"| **{label}** | **{money(self.total, self.currency)}** |")
        return "\n".join(rows)

    def as_dict(self) -> dict[str, object]:
        return {"currency": self.currency, "total": str(self.total), "unpriced": self.unpriced,
                "lines": [{"item": line.item, "requested_as": line.requested_as,
                           "amount": None if line.amount is None else str(line.amount)} for line in self.lines]}


def money(amount: Decimal, currency: str) -> str:
    """4000 -> "EUR 4,000"; cents only when there are some ("EUR 4,000.50")."""
    whole = amount == amount.to_integral_value()
    return f"{currency} {amount:,.0f}" if whole else f"{currency} {amount:,.2f}"


def _cell(text: str) -> str:
    return text.replace("|", "/").replace("\n", " ")


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


_LEADING = ("a ", "an ", "the ", "one ", "our ", "your ", "new ", "full ")


def _head(words: str) -> str:
    """The request's words without leading articles: "A brand audit of..." -> "brand audit of..."."""
    said = _normal(words).lstrip("0123456789.)-*• ")
    while said.startswith(_LEADING):
        said = said.split(" ", 1)[1]
    return said


def _match(words: str, project: Project) -> str | None:
    """The longest rate-card item the request's words start with ("A brand audit of our site"
    is a brand audit; "Translation of the messaging guide" is not a messaging guide)."""
    assert project.rate_card is not None
    said = _head(words) + " "
    names = sorted(project.rate_card.items, key=len, reverse=True)
    return next((name for name in names if said.startswith(_normal(name) + " ")), None)


def price_table(project: Project, request: str) -> PriceTable:
    """The proposal's price table for `request` (a client project's rate card is required)."""
    if project.rate_card is None or project.client is None:
        raise ValueError(f"project {project.name} has no rate_card; only client projects price proposals")
    card = project.rate_card
    lines: list[PriceLine] = []
    seen: set[str] = set()
    asked = [item.text for item in requested_items(request)] or list(project.client.deliverables)
    for words in asked:
        item = _match(words, project)
        if item is not None and item in seen:
            continue  # the request names one item twice: it is priced once
        if item is not None:
            seen.add(item)
        lines.append(PriceLine(item=item or words, requested_as=words,
                               amount=card.items[item] if item is not None else None))
    return PriceTable(card.currency, tuple(lines))
