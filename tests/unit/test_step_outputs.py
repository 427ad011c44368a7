"""A step's output that is its model's answer is stored once: compacted on write, whole on read."""

from __future__ import annotations

import json
from typing import Any

from masthead.runtime.outputs import (
    DONE_OUTPUT,
    RECORDED_CALL,
    compact_output,
    done_output,
    step_output,
)

ANSWER = json.dumps({"text": "Tallybook 3.2 adds bank feeds", "points": [1, 2.5, None]})


def recorded(answers: dict[str, str]) -> Any:
    def query(sql: str, params: Any) -> list[dict[str, Any]]:
        assert sql == RECORDED_CALL
        (key,) = params
        return [{"data": json.dumps({"call_key": key, "output": answers[key]})}] if key in answers else []
    return query


def test_an_output_equal_to_its_calls_answer_names_the_call_and_reads_back_whole():
    output = {"agent": "draft", "output": json.loads(ANSWER), "model_calls": ["k1", "k2"], "halt": True}
    compact = compact_output(output, {"k2": ANSWER})
    assert compact == {"agent": "draft", "output_call": "k2", "model_calls": ["k1", "k2"], "halt": True}
    assert step_output(recorded({"k2": ANSWER}), json.dumps({"id": "t", "output": compact})) == output


def test_an_output_that_differs_from_the_answer_stays_inline():
    answers = {"k": ANSWER}
    changed = {"output": {"text": "Tallybook 3.2 adds bank feeds", "points": [1, 2.5]}, "model_calls": ["k"]}
    assert compact_output(changed, answers) is changed
    fenced = {"output": json.loads(ANSWER), "model_calls": ["k"]}
    assert compact_output(fenced, {"k": "```json\n" + ANSWER + "\n```"}) is fenced
    # The answer must come from a call recorded with this outcome, and be the agent's last call.
    assert compact_output(fenced, {}) is fenced
    assert compact_output({**fenced, "model_calls": ["k", "later"]}, answers)["output"] == json.loads(ANSWER)
    for plain in ({"passed": True}, {"output": None, "model_calls": ["k"]}, {"output": {"a": 1}, "model_calls": []}):
        assert compact_output(plain, answers) is plain


def test_outputs_written_inline_read_as_they_are():
    data = {"id": "t", "output": {"agent": "brief", "output": {"text": "x"}, "model_calls": ["k"]}}
    assert step_output(recorded({}), data) == data["output"]


def test_a_done_tasks_output_comes_with_its_last_call_in_one_statement_unless_another_call_is_named():
    compact = {"id": "t", "output": {"agent": "draft", "output_call": "k2", "model_calls": ["k1", "k2"]}}
    answer = json.dumps({"call_key": "k2", "output": ANSWER})
    asked: list[str] = []

    def query(last_key: str) -> Any:
        def run(sql: str, params: Any) -> list[dict[str, Any]]:
            asked.append(sql)
            if sql == DONE_OUTPUT:
                return [{"data": json.dumps(compact), "call_key": last_key, "answer": answer}]
            return recorded({"k2": ANSWER})(sql, params)
        return run

    whole = {"agent": "draft", "output": json.loads(ANSWER), "model_calls": ["k1", "k2"]}
    assert done_output(query("k2"), "t") == whole
    assert asked == [DONE_OUTPUT]
    asked.clear()
    assert done_output(query("k-later"), "t") == whole  # the named call is read on its own
    assert asked == [DONE_OUTPUT, RECORDED_CALL]
    assert done_output(lambda sql, params: [], "t") is None


def test_a_sealed_output_and_its_sealed_call_read_back_opened_and_forgotten_once_the_key_is_gone():
    from cryptography.fernet import Fernet

    from masthead.personal_data import FORGOTTEN, Sealer

    sealer = Sealer("subj_1", Fernet.generate_key().decode("ascii"))
    keys = {"subj_1": sealer.key}
    output = {"agent": "draft", "output": json.loads(ANSWER), "model_calls": ["k1", "k2"], "halt": True,
              "selection": {"candidates": [{"text": "Tallybook 3.2 adds bank feeds"}]}}
    stored = sealer.seal_output(compact_output(output, {"k2": ANSWER}))
    assert set(stored) == {"agent", "output_call", "model_calls", "halt", "sealed"}
    assert "bank feeds" not in json.dumps(stored) and stored["sealed"].startswith("sealed:v1:subj_1:")
    answers = {"k2": sealer.seal(ANSWER)}

    def query(sql: str, params: Any) -> list[dict[str, Any]]:
        if "subject_keys" in sql:
            return [{"key": keys[params[0]]}] if params[0] in keys else []
        if "FROM signals WHERE subject" in sql:  # a signal was sealed for subj_1: its text is ours
            return [{"1": 1}] if params[0] == "subj_1" else []
        return recorded(answers)(sql, params)

    assert step_output(query, {"id": "t", "output": stored}) == output
    keys.clear()
    assert step_output(query, {"id": "t", "output": stored}) == {
        "agent": "draft", "model_calls": ["k1", "k2"], "halt": True, "sealed": FORGOTTEN}
