"""Reading user YAML (projects, recipes) into a mapping, with errors a person can act on."""

from __future__ import annotations

from typing import Any

import yaml

from masthead.errors import InputError

# libyaml's loader when PyYAML was built with it (about 10x faster; recipes are read per signal).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_mapping(text: str, source: str, *, expected: str, docs: str) -> dict[str, Any]:
    """Parse YAML that must be a mapping; `expected` names its top keys for the error."""
    try:
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{source}: not valid YAML{where}: {problem}", fix="correct that line") from None
    if not isinstance(raw, dict):
        raise InputError(f"{source}: must be a YAML mapping ({expected})", fix=f"see {docs}")
    return raw
