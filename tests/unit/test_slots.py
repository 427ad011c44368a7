"""Slots: parsing, the next free slot across a week, a taken slot and a DST change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from masthead.errors import ConfigError
from masthead.projects import parse_project_yaml
from masthead.slots import local_label, next_free_slot, parse_local_time, parse_slot, slot_times

BERLIN = "Europe/Berlin"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_slot_names_its_days_and_time():
    slot = parse_slot("mon-fri 09:30")
    assert (sorted(slot.days), slot.minute) == ([0, 1, 2, 3, 4], 9 * 60 + 30)
    assert sorted(parse_slot("12:00").days) == list(range(7))
    assert sorted(parse_slot("sat,sun 11:00").days) == [5, 6]


@pytest.mark.parametrize("text", ["09:30-10:00", "someday 09:30", "mon 24:00", "mon 9h30", ""])
def test_a_malformed_slot_is_refused_with_its_shape(text):
    with pytest.raises(ValueError, match="slot"):
        parse_slot(text)


def test_a_full_week_of_slots_in_order():
    # Monday 2026-12-07 08:00 Berlin (07:00 UTC): weekdays 09:30, Saturday 11:00.
    times = slot_times(["mon-fri 09:30", "sat 11:00"], BERLIN, utc(2026, 12, 7, 7, 0))
    week = [local_label(next(times), BERLIN) for _ in range(7)]
    assert week == [f"2026-12-{day:02d} 09:30 {BERLIN}" for day in (7, 8, 9, 10, 11)] + [
        f"2026-12-12 11:00 {BERLIN}", f"2026-12-14 09:30 {BERLIN}"]


def test_the_next_free_slot_skips_a_taken_one_and_one_already_past():
    slots = ["mon-fri 09:30"]
    after = utc(2026, 12, 7, 9, 0)  # Monday 10:00 Berlin: today's slot has passed
    assert next_free_slot(slots, BERLIN, after, []) == utc(2026, 12, 8, 8, 30)
    taken = [utc(2026, 12, 8, 8, 30)]
    assert next_free_slot(slots, BERLIN, after, taken) == utc(2026, 12, 9, 8, 30)
    # A blackout (e.g. a calendar) is honoured the same way.
    assert next_free_slot(slots, BERLIN, after, taken, blocked=lambda at: at.day == 9) == utc(2026, 12, 10, 8, 30)
    # Friday's slot taken: the next is Monday.
    friday = utc(2026, 12, 11, 6, 0)
    assert next_free_slot(slots, BERLIN, friday, [utc(2026, 12, 11, 8, 30)]) == utc(2026, 12, 14, 8, 30)
    assert next_free_slot([], BERLIN, after, []) is None


def test_slots_keep_their_local_time_across_a_dst_change():
    # Berlin leaves summer time on Sunday 2026-10-25: 09:30 is 07:30 UTC before, 08:30 after.
    times = slot_times(["09:30"], BERLIN, utc(2026, 10, 24, 0, 0))
    assert [next(times) for _ in range(2)] == [utc(2026, 10, 24, 7, 30), utc(2026, 10, 25, 8, 30)]
    # A slot inside the hour the spring change skips (02:30 on 2026-03-29) is not on that day.
    spring = slot_times(["02:30"], BERLIN, utc(2026, 3, 28, 12, 0))
    assert next(spring) == utc(2026, 3, 30, 0, 30)


def test_a_chosen_time_is_read_in_the_project_zone():
    assert parse_local_time("2026-12-08 09:30", BERLIN) == utc(2026, 12, 8, 8, 30)
    with pytest.raises(ValueError, match="like"):
        parse_local_time("tomorrow", BERLIN)
    with pytest.raises(ValueError, match="skip"):
        parse_local_time("2026-03-29 02:30", BERLIN)


def test_the_project_yaml_names_a_bad_slot_and_its_field():
    text = """\
name: tallybook
description: d
audience: a
voice: {description: plain}
timezone: Europe/Berlin
channels:
  x: {gate: auto, slots: ["mon-fri 09:30", "funday 11:00"]}
"""
    with pytest.raises(ConfigError) as caught:
        parse_project_yaml(text, "project.yaml")
    assert "slots" in str(caught.value) and "funday 11:00" in str(caught.value)
    project = parse_project_yaml(text.replace("funday", "sat"), "project.yaml")
    assert project.channels["x"].slots == ["mon-fri 09:30", "sat 11:00"]
