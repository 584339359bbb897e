"""Discovering a date range of the inbox: the range's files, and every file without a readable date."""

from __future__ import annotations

import datetime as dt
import os

from credit_warehouse.catalogue import Catalogue
from credit_warehouse.inbox import discover, inbox_path

CATALOGUE = Catalogue.load()
DAYS = [dt.date(2025, 1, 1), dt.date(2025, 1, 2), dt.date(2025, 1, 3)]


def _inbox(tmp_path):
    inbox = tmp_path / "inbox"
    for day in DAYS:
        path = inbox_path(inbox, "tax", "C03", day, "csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    inbox_path(inbox, "tax", "C03", DAYS[1], "csv", tag="corr1").write_text("x")
    for name in ("C03_20251399.csv", "notes.txt", ".C03_20250102.csv"):  # no date, no contract name, hidden
        (inbox / "tax" / name).write_text("x")
    (inbox / "stray.csv").write_text("x")  # not in a department's folder
    (inbox / "archive").mkdir()
    os.symlink(inbox / "tax", inbox / "archive" / "tax")  # a symlinked folder is not entered
    return inbox


def test_a_range_keeps_its_days_and_every_file_without_a_date(tmp_path):
    inbox = _inbox(tmp_path)
    found = discover(inbox, CATALOGUE, DAYS[1], DAYS[1])
    assert [f.relative for f in found] == ["stray.csv", "tax/C03_20251399.csv", "tax/notes.txt",
                                           "tax/C03_20250102.csv", "tax/C03_20250102_corr1.csv"]
    assert [f.problem for f in found[:3]] == ["unrecognised_file_name"] * 3


def test_a_range_finds_what_the_whole_inbox_has_in_it(tmp_path):
    inbox = _inbox(tmp_path)
    everything = discover(inbox, CATALOGUE)
    assert len(everything) == 7
    for first, last in ((DAYS[0], DAYS[1]), (DAYS[2], None), (None, DAYS[0])):
        expected = [f for f in everything if f.business_date is None or (
            (first is None or f.business_date >= first) and (last is None or f.business_date <= last))]
        assert discover(inbox, CATALOGUE, first, last) == expected


def test_a_missing_inbox_has_no_files(tmp_path):
    assert discover(tmp_path / "inbox", CATALOGUE, DAYS[0], DAYS[0]) == []


def test_a_misplaced_file_is_reported_whatever_the_date_in_its_name(tmp_path):
    inbox = _inbox(tmp_path)
    (inbox / "C03_20240101.csv").write_text("x")  # no department folder
    (inbox / "tax" / "old").mkdir()
    (inbox / "tax" / "old" / "C03_20240101.csv").write_text("x")  # a folder too deep
    found = {f.relative: f.problem for f in discover(inbox, CATALOGUE, DAYS[1], DAYS[1])}
    assert found["C03_20240101.csv"] == found["tax/old/C03_20240101.csv"] == "unrecognised_file_name"
