"""Document templates: `templates/<name>.md` in the workspace, or the built-ins shipped here.

A template is Markdown with Jinja placeholders: sections are headings, placeholders are filled
from the project's client state and the proposal's computed parts, `{% if %}` blocks make a
section optional. A template is user input, so it renders in Jinja's sandbox with
StrictUndefined: a misspelt placeholder or a reach for Python internals (`''.__class__`) is
refused with an error naming the template and the line, and nothing is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from masthead.errors import ConfigError, NotFoundError

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,62}$")
MAX_TEMPLATE_BYTES = 200_000
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class TemplateSource:
    name: str
    text: str
    origin: str  # "built-in" or the file's path


def _environment() -> SandboxedEnvironment:
    # autoescape off: the output is Markdown, not HTML (the PDF export escapes when it renders).
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                                trim_blocks=False, lstrip_blocks=False)


def builtin_templates() -> dict[str, TemplateSource]:
    folder = resources.files("masthead.compose").joinpath("templates")
    return {entry.name[:-3]: TemplateSource(entry.name[:-3], entry.read_text("utf-8"), "built-in")
            for entry in folder.iterdir() if entry.name.endswith(".md")}


def workspace_templates(workspace: Path | None) -> dict[str, TemplateSource]:
    folder = None if workspace is None else workspace / "templates"
    if folder is None or not folder.is_dir():
        return {}
    return {path.stem: TemplateSource(path.stem, path.read_text("utf-8"), str(path))
            for path in sorted(folder.glob("*.md")) if _NAME.match(path.stem) and path.is_file()}


def all_templates(workspace: Path | None) -> dict[str, TemplateSource]:
    """Every template by name; a workspace file replaces the built-in of the same name."""
    return {**builtin_templates(), **workspace_templates(workspace)}


def get_template(workspace: Path | None, name: str) -> TemplateSource:
    found = all_templates(workspace)
    if name not in found:
        raise NotFoundError(f"template {name!r} does not exist",
                            fix=f"use one of: {', '.join(sorted(found))}, or add templates/{name}.md to the workspace")
    return found[name]


def placeholders(source: TemplateSource) -> list[str]:
    """The top-level names the template reads (client, terms, pricing...)."""
    parsed = _parse(source)
    return sorted(meta.find_undeclared_variables(parsed))


def sections(source: TemplateSource) -> list[str]:
    """The template's headings, in order (placeholders left as written)."""
    return [match.group(1) for match in _HEADING.finditer(source.text)]


def _parse(source: TemplateSource) -> Any:
    try:
        return _environment().parse(source.text)
    except TemplateSyntaxError as exc:
        raise ConfigError(f"template {source.name} ({source.origin}) line {exc.lineno}: {exc.message}",
                          fix="correct the Jinja syntax on that line ({{ name }}, {% if %}...{% endif %})") from None


def render(source: TemplateSource, context: dict[str, Any]) -> str:
    """The template filled from `context`; a ConfigError names the line and the fix."""
    _parse(source)
    template = _environment().from_string(source.text)
    try:
        text = template.render(context)
    except SecurityError as exc:
        raise ConfigError(f"template {source.name} ({source.origin}) was refused: {exc}",
                          fix="a template may read placeholders only; remove attribute access to Python internals") from None
    except UndefinedError as exc:
        known = ", ".join(sorted(context))
        raise ConfigError(f"template {source.name} ({source.origin}): {exc.message}",
                          fix=f"use only these placeholders: {known}, or wrap an optional one in {{% if ... %}}") from None
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise ConfigError(f"template {source.name} ({source.origin}) failed to render: {exc}",
                          fix="check the expressions in the template against `masthead template show proposal`") from None
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
