"""A step's output, stored once.

An agent step's output holds what its model answered, already recorded in full by that call's
`ModelCallRecorded`. When the answer, read as JSON, is exactly the output (the usual case: the
agent returns what the model wrote), `TaskSucceeded` names the call (`output_call`) instead of
repeating the text; `step_output` puts it back for every reader. Outputs that differ from the
answer (an agent that adds, drops or fixes something, a fallback, a human's completion) and
every output written before this are stored inline as they always were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from masthead.events.model import parse_json

# The field of a TaskSucceeded output that names the model call whose answer is its "output".
OUTPUT_CALL = "output_call"

RECORDED_CALL = "SELECT e.data FROM model_calls m JOIN events e ON e.seq = m.seq WHERE m.call_key = ?"

Query = Callable[[str, Sequence[Any]], list[dict[str, Any]]]


def compact_output(output: dict[str, Any], answers: dict[str, str]) -> dict[str, Any]:
    """`output` with its "output" replaced by the name of the call that answered it, when that
    call is among `answers` (call key -> the text recorded with it in this transaction) and the
    text reads as exactly that value; otherwise `output` unchanged."""
    calls = output.get("model_calls")
    if "output" not in output or not calls or output["output"] is None:
        return output
    key = calls[-1]  # the agent's own call comes last (a memory summary's come first)
    answer = answers.get(key)
    if answer is None:
        return output
    try:
        same = parse_json(answer) == output["output"]
    except ValueError:  # not JSON (fenced, truncated): the output stays inline
        return output
    if not same:
        return output
    compact = {name: value for name, value in output.items() if name != "output"}
    compact[OUTPUT_CALL] = key
    return compact


def step_output(query: Query, data: str | dict[str, Any]) -> dict[str, Any]:
    """The output of a TaskSucceeded event (its JSON text or its data) as the step returned it,
    with the model's answer read back from the call's record when the event names it."""
    event = parse_json(data) if isinstance(data, str | bytes) else data
    output: dict[str, Any] = dict(event["output"])
    key = output.pop(OUTPUT_CALL, None)
    if key is not None:
        rows = query(RECORDED_CALL, (key,))
        output["output"] = parse_json(parse_json(rows[0]["data"])["output"]) if rows else None
    return output
