"""``python -m deepenough diff OLD_RESULTS NEW_RESULTS``: what a change did to the book's conclusions.

Compares two directories of results files (for example ``main``'s build and a branch's) and prints,
per claim, the verdicts that changed (and whether their rule changed, their data, or both) and the key
numbers that moved outside each other's interval.
"""
from __future__ import annotations

import json
from pathlib import Path

from jsonschema import ValidationError

from .ledger import format_number
from .results import validate


def key_numbers(results: dict[str, dict]) -> dict[str, tuple[str, dict | None, str, str]]:
    """Per claim: its verdict, the measurement that decided it, its chapter and its rule's digest."""
    out = {}
    for r in results.values():
        for v in r["verdicts"]:
            out[v["claim"]] = (v["verdict"], r["measurements"].get(v["key"]) if v["key"] else None, r["chapter"],
                               v.get("rule", ""))
    return out


def cause(rule_changed: bool, data_moved: bool) -> str:
    if rule_changed:
        return "its rule changed" + (" and its data moved" if data_moved else "")
    return "its data changed (same rule)"


def moved(old: dict | None, new: dict | None) -> bool:
    """A number moved if either point estimate falls outside the other's interval."""
    if old is None or new is None:
        return old is not new
    return not (old["low"] <= new["mean"] <= old["high"] and new["low"] <= old["mean"] <= new["high"])


class DiffError(ValueError):
    """The folders cannot be compared; the message says why."""


def results_in(folder: Path) -> dict[str, dict]:
    if not Path(folder).is_dir():
        raise DiffError(f"{folder} is not a folder of results files")
    found = {}
    for path in sorted(Path(folder).glob("*.json")):
        try:
            found.update(read_one(path))
        except (ValueError, ValidationError) as e:
            raise DiffError(f"{path} is not a valid results file: {str(e).splitlines()[0]}") from None
    if not found:
        raise DiffError(f"{folder} holds no results files (<chapter>.json)")
    return found


def read_one(path: Path) -> dict[str, dict]:
    data = json.loads(path.read_text())
    validate(data)
    return {data["chapter"]: data}


def diff(old_dir: Path, new_dir: Path) -> list[str]:
    old, new = key_numbers(results_in(old_dir)), key_numbers(results_in(new_dir))
    lines = []
    for claim in sorted(set(old) | set(new), key=lambda c: int(c[1:])):
        if claim not in old:
            lines.append(f"{claim}: newly tested in {new[claim][2]}: {new[claim][0]}")
            continue
        if claim not in new:
            lines.append(f"{claim}: no longer tested (was {old[claim][0]} in {old[claim][2]})")
            continue
        (v0, m0, _, rule0), (v1, m1, chapter, rule1) = old[claim], new[claim]
        if v0 != v1:
            lines.append(f"{claim} ({chapter}): verdict {v0} -> {v1}: {cause(rule0 != rule1, moved(m0, m1))}")
        elif rule0 != rule1:
            lines.append(f"{claim} ({chapter}): same verdict ({v1}), but its rule changed")
        if moved(m0, m1):
            before = format_number(m0) if m0 else "none"
            after = format_number(m1) if m1 else "none"
            what = (m1 or m0)["what"]
            lines.append(f"{claim} ({chapter}): {what}: {before} -> {after}")
    return lines or ["no verdict or key number changed"]
