"""Templates render in Jinja's sandbox: placeholders from client state, optional sections, and
clear refusals for syntax errors, unknown placeholders and reaches for Python internals."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from masthead.app.templates import list_templates, validate_template
from masthead.compose.proposal import render_proposal, sample_project
from masthead.compose.requirements import extract_requirements
from masthead.compose.templates import TemplateSource, get_template, render
from masthead.errors import ConfigError, NotFoundError

REQUEST = "# RFP\n## Deliverables\n- brand audit\n- translation\n## Needs\n1. You must start in March.\n"


def test_the_builtin_proposal_renders_client_state_and_the_computed_table() -> None:
    project = sample_project()
    requirements = [r.as_dict() for r in extract_requirements(REQUEST)]
    text = render_proposal(get_template(None, "proposal"), project, REQUEST, requirements, None,
                           received=date(2027, 1, 4))
    assert text.startswith("# Proposal for Sample Client")
    assert "| brand audit | EUR 4,000 |" in text
    assert "| translation | no price: decide |" in text
    assert "valid until 2027-02-03" in text
    assert "**R1** (must): You must start in March." in text
    assert "## Relevant experience" not in text  # optional: no passages


def test_a_workspace_template_replaces_the_builtin(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "proposal.md").write_text("# For {{ client.name }}\n")
    (tmp_path / "templates" / "short-quote.md").write_text("## Quote\n{{ pricing.total }}\n")
    found = {t.name: t for t in list_templates(tmp_path)}
    assert found["proposal"].origin.endswith("proposal.md") and found["short-quote"].sections == ["Quote"]


@pytest.mark.parametrize(("template", "message"), [
    ("{{ ''.__class__.__mro__ }}", "was refused"),
    ("{{ client.__init__.__globals__ }}", "was refused"),
    ("{% for x in range(10**9) %}{% endfor %}", "Range too big"),
    ("{{ clinet.name }}", "'clinet' is undefined"),
    ("{% if client.name %}no end", "line 1"),
])
def test_bad_templates_are_refused_with_the_fix(template: str, message: str) -> None:
    project = sample_project()
    with pytest.raises(ConfigError) as caught:
        render_proposal(TemplateSource("bad", template, "bad.md"), project, REQUEST, [], None, received=date(2027, 1, 4))
    assert message in str(caught.value) and caught.value.fix


def test_an_optional_section_appears_only_with_its_value() -> None:
    source = TemplateSource("t", "# A\n{% if passages %}## Past work\n{{ passages[0] }}{% endif %}\n", "t.md")
    assert "Past work" not in render(source, {"passages": []})
    assert "## Past work\nWe did X." in render(source, {"passages": ["We did X."]})


def test_validate_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.md"
    path.write_text("# {{ client.name }}\n{{ pricing.table }}\n")
    info, rendered = validate_template(path)
    assert info.placeholders == ["client", "pricing"] and "Sample Client" in rendered
    with pytest.raises(NotFoundError):
        get_template(tmp_path, "nothing")
