"""The recording client's call keys and request hashes stay what they were: a step re-run after
an upgrade must find the answers recorded before it."""

from __future__ import annotations

import pytest

from masthead.providers.base import Message, ModelRequest
from masthead.runtime.model_client import first_run, request_hash

REQUESTS = [
    ModelRequest(model="gpt-4o-mini", messages=(Message(role="user", content="hello"),)),
    ModelRequest(model="m", messages=(Message(role="system", content="Voix: « é » 日本 \u2028"),
                                      Message(role="user", content='quote " and \\ backslash')),
                 max_tokens=7, temperature=1e-05, seed=None, schema_name="Out",
                 json_schema={"type": "object", "properties": {"text": {"type": "string"}}, "b": [1.5, 2e-7]}),
    ModelRequest(model="", messages=(), temperature=0.0, seed=3),
]


@pytest.mark.parametrize("request_", REQUESTS)
@pytest.mark.parametrize("model", ["", "other-model"])
def test_request_hash_from_one_dump_equals_the_models_own(request_: ModelRequest, model: str):
    body = request_.model_dump(mode="json")
    expected = request_.model_copy(update={"model": model}).request_hash("openai")
    assert request_hash(body, "openai", model) == expected
    assert request_.model_dump(mode="json") == body  # the dump is not changed by hashing it


def test_only_a_tasks_first_claim_counts_as_its_first_run():
    assert first_run({"version": 2, "attempts": 1})  # enqueued, claimed once
    assert not first_run({"version": 4, "attempts": 2})  # claimed again after a retry
    assert not first_run({"version": 4, "attempts": 1})  # a wait or deferral gave its attempt back
    assert not first_run({"version": 3, "attempts": 1})  # claimed after a lost lease or a reopen
