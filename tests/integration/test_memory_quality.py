"""Retrieval quality with the real ONNX embedder on a hand-labelled set (tests/data/).

312 items (facts, voice exemplars, old published pieces, operator notes), each added with its
age, and 52 queries that list every item answering them. The measure is capped recall@5: for
each query, the share of its relevant items in the top five, out of at most five; then the mean
over queries. Scores use the shipped defaults: similarity, recency, kind, confidence, boost.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from tests.support.memory import iso, memory_workspace

from masthead.app.workspace import Workspace
from masthead.events.model import Meta
from masthead.memory.items import added_event, new_event

DATA = Path(__file__).resolve().parents[1] / "data" / "memory_retrieval.json"
PROJECT = """\
name: tallybook
description: Invoicing software for freelancers.
audience: Freelancers.
voice: {description: Plain.}
channels: {x: {}}
"""


@pytest.fixture(scope="module")
def labelled(tmp_path_factory: pytest.TempPathFactory):
    data = json.loads(DATA.read_text("utf-8"))
    ws = memory_workspace(tmp_path_factory.mktemp("quality") / "ws", project_yaml=PROJECT)
    now = time.time()
    key_of: dict[str, str] = {}
    # Oldest first, as they would have been added over time.
    for item in sorted(data["items"], key=lambda i: -i["age_days"]):
        event = added_event(tier="project", kind=item["kind"], text=item["text"], source="dataset",
                            confidence=1.0, project="tallybook", job_id=None, embedding_model=ws.memory.model_id)
        key_of[event.id] = item["key"]
        ws.store.append([new_event(event)], Meta(actor="human:ana", at=iso(now - item["age_days"] * 86_400)))
    ws.memory.warm()
    yield ws, data, key_of
    ws.close()


def recall_at_5(ws: Workspace, key_of: dict[str, str], query: str, relevant: list[str]) -> float:
    ranked = ws.memory.rank(query, project="tallybook").ranked
    top = {key_of[c.item.id] for c in ranked[:5]}
    return len(top & set(relevant)) / min(len(relevant), 5)


def test_the_labelled_set_is_big_enough(labelled) -> None:
    _ws, data, _keys = labelled
    kinds = {item["kind"] for item in data["items"]}
    assert len(data["items"]) >= 300 and len(data["queries"]) >= 30
    assert {"fact", "exemplar", "piece"} <= kinds


def test_recall_at_5_is_at_least_0_8(labelled) -> None:
    ws, data, key_of = labelled
    scores = {q["query"]: recall_at_5(ws, key_of, q["query"], q["relevant"]) for q in data["queries"]}
    held_out = [scores[q["query"]] for q in data["queries"] if q["held_out"]]
    recall = sum(scores.values()) / len(scores)
    misses = {query: round(score, 2) for query, score in scores.items() if score < 1}
    print(f"recall@5 = {recall:.3f} over {len(scores)} queries "
          f"(held-out {sum(held_out) / len(held_out):.3f} over {len(held_out)}); misses: {misses}")
    assert recall >= 0.8, misses


def test_without_the_exact_term_boost_a_version_query_fails(labelled) -> None:
    """The set can tell a working scorer from a broken one: without the boost, 3.1 is lost."""
    ws, _data, key_of = labelled
    query, relevant = "What changed in Tallybook 3.1?", ["f-rel-31", "p-31-x", "p-31-li", "p-31-nl", "e-01"]
    with_boost = recall_at_5(ws, key_of, query, relevant)
    from masthead.memory import scoring

    original = scoring.VERSION_BOOST, scoring.WORD_BOOST, scoring.NAME_BOOST
    try:
        scoring.VERSION_BOOST = scoring.WORD_BOOST = scoring.NAME_BOOST = 0.0
        without = recall_at_5(ws, key_of, query, relevant)
    finally:
        scoring.VERSION_BOOST, scoring.WORD_BOOST, scoring.NAME_BOOST = original
    assert with_boost > without
