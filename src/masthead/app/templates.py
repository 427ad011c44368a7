"""Templates for the CLI and the web: list, show and validate (a dry render against a project)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from masthead.compose.proposal import SAMPLE_REQUEST, render_proposal, sample_project
from masthead.compose.requirements import extract_requirements
from masthead.compose.templates import (
    MAX_TEMPLATE_BYTES,
    TemplateSource,
    all_templates,
    get_template,
    placeholders,
    sections,
)
from masthead.projects import Project
from masthead.text_input import read_text_file


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    origin: str
    sections: list[str]
    placeholders: list[str]
    text: str


def _info(source: TemplateSource) -> TemplateInfo:
    return TemplateInfo(source.name, source.origin, sections(source), placeholders(source), source.text)


def list_templates(workspace: Path | None) -> list[TemplateInfo]:
    return [_info(source) for _name, source in sorted(all_templates(workspace).items())]


def show_template(workspace: Path | None, name: str) -> TemplateInfo:
    return _info(get_template(workspace, name))


def validate_template(path: Path, project: Project | None = None) -> tuple[TemplateInfo, str]:
    """Parse and render the file in the sandbox against `project` (or a sample client) and a sample
    request; returns the template's outline and the rendered text, or raises the render's error."""
    text = read_text_file(path, "template", MAX_TEMPLATE_BYTES)
    source = TemplateSource(path.stem, text, str(path))
    client = project if project is not None and project.kind == "client" else sample_project()
    requirements = [r.as_dict() for r in extract_requirements(SAMPLE_REQUEST)]
    rendered = render_proposal(source, client, SAMPLE_REQUEST, requirements, None, received=date(2027, 1, 4))
    return _info(source), rendered
