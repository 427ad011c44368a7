"""A step's output, stored once.

An agent step's output holds what its model answered, already recorded in full by that call's
`ModelCallRecorded`. When the answer, read as JSON, is exactly the output (the usual case: the
agent returns what the model wrote), `TaskSucceeded` names the call (`output_call`) instead of
repeating the text; `step_output` puts it back for every reader. Outputs that differ from the
answer (an agent that adds, drops or fixes something, a fallback, a human's completion) and
every output written before this are stored inline as they always were.

A job about one person stores both sealed with the person's key (personal_data.Sealer): the
call's answer, and every field of the output but the plain ones; `step_output` opens them, and
once the person is forgotten the output reads `{"sealed": "[forgotten]"}` beside its plain fields.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from masthead.events.model import parse_json
from masthead.personal_data import FORGOTTEN, SEALED_OUTPUT, open_output, open_text

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


# A done task's TaskSucceeded with its last recorded call in one statement: the call a compact
# output names was recorded in the outcome's own transaction, after the step's other calls.
DONE_OUTPUT = (
    "SELECT e.data, m.call_key, c.data AS answer FROM tasks t JOIN events e ON e.seq = t.output_seq"
    " LEFT JOIN model_calls m ON m.task_id = t.id LEFT JOIN events c ON c.seq = m.seq"
    " WHERE t.id = ? AND t.status = 'done' ORDER BY m.seq DESC LIMIT 1"
)


def step_output(query: Query, data: str | dict[str, Any], last_call: tuple[str, str] | None = None) -> dict[str, Any]:
    """The output of a TaskSucceeded event (its JSON text or its data) as the step returned it,
    with the model's answer read back from the call's record when the event names it.
    `last_call` (call key, its event's JSON), when it is the named call, spares that read."""
    event = parse_json(data) if isinstance(data, str | bytes) else data
    output: dict[str, Any] = open_output(query, dict(event["output"]))
    key = output.pop(OUTPUT_CALL, None)
    if key is not None:
        record: str | None
        if last_call is not None and last_call[0] == key:
            record = last_call[1]
        else:
            rows = query(RECORDED_CALL, (key,))
            record = rows[0]["data"] if rows else None
        answer = open_text(query, parse_json(record)["output"]) if record is not None else None
        if answer == FORGOTTEN:
            output[SEALED_OUTPUT] = FORGOTTEN
        else:
            output["output"] = parse_json(answer) if answer is not None else None
    return output


def done_output(query: Query, task_id: str) -> dict[str, Any] | None:
    """The output of task `task_id` if it is done (else None), in one statement."""
    rows = query(DONE_OUTPUT, (task_id,))
    if not rows:
        return None
    row = rows[0]
    last = (row["call_key"], row["answer"]) if row["call_key"] is not None else None
    return step_output(query, row["data"], last)
