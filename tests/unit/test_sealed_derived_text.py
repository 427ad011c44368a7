"""Text derived from one person's signal, sealed with their key: the sealed form says nothing,
every opener gives the text back, and "[forgotten]" once the key is gone."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet

from masthead.personal_data import (
    FORGOTTEN,
    Sealer,
    open_checks,
    open_flags,
    open_partial,
    open_pieces,
    open_text,
    sealed_if,
    sealed_subject,
)


def keys_query(keys: dict[str, str], sealed_for: frozenset[str] = frozenset({"subj_a"})) -> Any:
    """Answers the key lookups (recorded in `asked`) and whether a signal was sealed for a subject."""
    asked: list[str] = []

    def query(sql: str, params: Any) -> list[dict[str, Any]]:
        if "FROM signals WHERE subject" in sql:
            return [{"1": 1}] if params[0] in sealed_for else []
        assert "subject_keys" in sql
        asked.append(params[0])
        return [{"key": keys[params[0]]}] if params[0] in keys else []
    query.asked = asked  # type: ignore[attr-defined]
    return query


def test_sealed_values_open_with_the_key_and_read_forgotten_without_it():
    sealer = Sealer("subj_a", Fernet.generate_key().decode("ascii"))
    keys = {"subj_a": sealer.key}
    query = keys_query(keys)
    text, subject = "Hi Ada,\n\nAnalytical Engines", "For Ada"
    row = {"id": "pc-1", "text": sealed_if(sealer, text), "subject": sealed_subject(sealer, subject), "version": 2,
           "flags": json.dumps([f"other_contacts: {sealer.seal('names Cobol Works')}", "length: too long"])}
    assert "Ada" not in json.dumps(row) and "Cobol" not in json.dumps(row)
    [opened] = open_pieces(query, [row])
    assert (opened["text"], opened["subject"], opened["version"]) == (text, subject, 2)
    assert json.loads(opened["flags"]) == ["other_contacts: names Cobol Works", "length: too long"]
    assert query.asked == ["subj_a"]  # one key read for the row, however many values it seals
    checks = [{"name": "other_contacts", "passed": 0, "detail": sealer.seal("names Cobol Works")},
              {"name": "length", "passed": 1, "detail": ""}]
    assert [c["detail"] for c in open_checks(query, checks)] == ["names Cobol Works", ""]
    partial = [{"call_key": "k", "output": sealer.seal('{"text": "Hi Ada"}')}, {"call_key": "j", "output": "plain"}]
    assert [p["output"] for p in open_partial(query, partial)] == ['{"text": "Hi Ada"}', "plain"]

    keys.clear()
    [gone] = open_pieces(keys_query(keys), [row])
    assert gone["text"] == gone["subject"] == FORGOTTEN
    assert json.loads(gone["flags"]) == [f"other_contacts: {FORGOTTEN}", "length: too long"]
    assert open_flags(keys_query(keys), json.loads(row["flags"]))[0] == f"other_contacts: {FORGOTTEN}"
    assert open_text(keys_query(keys), row["text"]) == FORGOTTEN
    assert open_partial(keys_query(keys), partial)[0]["output"] == FORGOTTEN


def test_text_that_only_looks_sealed_is_somebodys_text_not_a_forgotten_persons():
    sealer = Sealer("subj_a", Fernet.generate_key().decode("ascii"))
    query = keys_query({"subj_a": sealer.key})
    for typed in ("sealed:v1:nobody:hello", "sealed:v1:subj_a:gAAAAAforged", "sealed:v1:subj_a:naïve"):
        assert open_text(query, typed) == typed
    assert open_pieces(query, [{"text": "sealed:v1:nobody:hello"}])[0]["text"] == "sealed:v1:nobody:hello"


def test_a_job_about_no_one_stores_and_reads_its_text_as_it_is():
    row = {"text": "Tallybook 3.2", "subject": None, "flags": '["length: too long"]'}
    assert sealed_if(None, "Tallybook 3.2") == "Tallybook 3.2" and sealed_subject(None, "S") == "S"
    untouched = keys_query({})
    assert open_pieces(untouched, [row]) == [row] and untouched.asked == []
    assert sealed_subject(Sealer("subj_a", Fernet.generate_key().decode("ascii")), None) is None


def test_a_sensitive_topic_reason_for_a_piece_about_one_person_quotes_none_of_its_text():
    from masthead.runtime.confidence import TopicMatch

    match = TopicMatch("layoffs", "job cuts", "meaning", 0.81, "Clara's bakery lets three bakers go")
    assert "Clara's bakery" in match.reason()
    assert match.reason(quote=False) == "sensitive topic 'layoffs' (job cuts): similarity 0.81 to it"
