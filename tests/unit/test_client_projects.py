"""Client projects: the YAML shape of issue 14, its defaults and its errors."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from masthead.channels.limits import rule_for
from masthead.errors import ConfigError
from masthead.projects import parse_project_yaml
from masthead.recipes.schema import Recipe

FIXTURES = Path(__file__).parent.parent / "fixtures" / "proposals"


def test_the_issue_shape_reads_with_its_defaults() -> None:
    project = parse_project_yaml((FIXTURES / "acme.yaml").read_text(), "acme.yaml")
    assert project.kind == "client"
    assert project.client is not None and project.client.name == "Acme Corp"
    assert project.client.contacts[0].email == "marketing@acme.example"
    assert project.voice.description == "plain, confident, no jargon"  # the client's tone is the voice
    assert project.rate_card is not None and project.rate_card.price_of(" Brand  Audit ") == Decimal(4000)
    assert project.rate_card.price_of("translation") is None
    assert project.terms is not None and project.terms.payment_days == 30
    assert project.required_clauses == ["payment terms", "liability cap", "IP transfer on payment"]
    assert project.channels["proposal"].gate == "hard"


def test_a_product_project_defaults_to_product() -> None:
    project = parse_project_yaml("name: p\ndescription: d\naudience: a\nvoice: {description: v}\nchannels: {x: {}}\n", "p")
    assert project.kind == "product" and project.client is None


def test_the_proposal_channel_has_no_limit_and_no_subject() -> None:
    rule = rule_for("proposal")
    assert rule.limit is None and not rule.has_subject


@pytest.mark.parametrize(("yaml_text", "message"), [
    ("name: x\nkind: client\nchannels: {proposal: {}}\n", "a client project needs client, rate_card, terms"),
    ("name: x\ndescription: d\naudience: a\nvoice: {description: v}\nchannels: {proposal: {}}\n",
     "channel proposal is for client projects; add `kind: client`"),
    ("name: x\ndescription: d\naudience: a\nvoice: {description: v}\nchannels: {x: {}}\n"
     "rate_card: {currency: EUR, items: {a: 1}}\n", "rate_card is for client projects"),
    ("name: x\nkind: client\nclient: {name: A}\nterms: {payment_days: 30, liability_cap: c, ip: i, validity_days: 30}\n"
     "rate_card: {currency: eur, items: {a: 1}}\nchannels: {proposal: {}}\n", "rate_card.currency"),
    ("name: x\nkind: client\nclient: {name: A}\nterms: {payment_days: 30, liability_cap: c, ip: i, validity_days: 30}\n"
     "rate_card: {currency: EUR, items: {a: -5}}\nchannels: {proposal: {}}\n", "price -5 must be zero or more"),
    ("name: x\nkind: client\nclient: {name: A, contacts: [{}]}\nterms: {payment_days: 30, liability_cap: c, ip: i,"
     " validity_days: 30}\nrate_card: {currency: EUR, items: {a: 1}}\nchannels: {proposal: {}}\n",
     "a contact needs at least one of name, role, email, phone"),
    ("name: x\nkind: client\nclient: {name: A}\nterms: {payment_days: 400, liability_cap: c, ip: i, validity_days: 30}\n"
     "rate_card: {currency: EUR, items: {a: 1}}\nchannels: {proposal: {}}\n", "terms.payment_days"),
    ("name: x\nkind: agency\nchannels: {x: {}}\n", "kind"),
])
def test_bad_client_state_names_the_field(yaml_text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_project_yaml(yaml_text, "x.yaml")
    assert message in str(caught.value)


def test_release_notes_never_write_a_proposal() -> None:
    steps = [{"id": "draft", "agent": "draft", "for_each": "channel"}]
    plain = Recipe.model_validate({"name": "r", "trigger": {"signal_kinds": ["a"]}, "steps": steps})
    assert plain.channels_for(["x", "proposal"]) == ["x"]
    named = Recipe.model_validate({"name": "r", "trigger": {"signal_kinds": ["a"]},
                                   "steps": [steps[0] | {"channels": ["proposal"]}]})
    assert named.channels_for(["x", "proposal"]) == ["x", "proposal"]
