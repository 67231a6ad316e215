"""Verdicts and the rules that compute them.

A claim's verdict comes from a decision table: rules tried in order, each an outcome, the condition in
words (with the thresholds' values written in) and the same condition as code. The first rule that holds
decides. The page renders the table beside the verdict, so the rule a reader sees is the rule that ran,
and the results file records a digest of the table, so ``deepenough diff`` can tell a verdict that moved
because the data moved from one that moved because the rule did.
"""
from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

VERDICTS = ("supported", "refuted", "nuanced", "inconclusive", "not testable here")
MEANINGS = {
    "supported": "the measurement agrees with the claim as stated",
    "refuted": "the measurement contradicts the claim",
    "nuanced": "decided: part of the claim holds and part does not; the reason says which",
    "inconclusive": "the experiment, at this profile's power, cannot decide; the reason says what power would",
    "not testable here": "the claim cannot be measured with this book's models and budget",
}


class Ruling(NamedTuple):
    """What ``decide`` returns: the verdict, the reason (the evidence, then the rule's condition), the digest
    of its decision table, the condition alone (one plain sentence of why), the values the rules read and
    the index of the row that fired. ``values`` lets anyone decide again and get the same verdict, so a
    verdict edited by hand is caught (``check``)."""
    verdict: str
    reason: str
    rule: str = ""
    why: str = ""
    values: dict | None = None
    row: int = -1


@dataclass(frozen=True)
class Rule:
    verdict: str
    when: str                            # the condition in words, thresholds written in
    holds: Callable[[dict], bool]        # the same condition, on the measured values


def always(values: dict) -> bool:
    """The condition of a table's last rule: whatever the earlier rules left."""
    return True


def digest(rules: Sequence[Rule]) -> str:
    """A short hash of the table: outcomes, conditions in words and in code."""
    text = "\n".join(f"{r.verdict}|{r.when}|{inspect.getsource(r.holds).strip()}" for r in rules)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def decide(rules: Sequence[Rule], values: dict, evidence: str = "") -> Ruling:
    """The first rule that holds for ``values``; the reason is the evidence, then the rule's condition."""
    for row, rule in enumerate(rules):
        if rule.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {rule.verdict!r}; use one of {VERDICTS}")
        if rule.holds(values):
            reason = f"{evidence}; so {rule.verdict}: {rule.when}" if evidence else f"{rule.verdict}: {rule.when}"
            return Ruling(rule.verdict, reason, digest(rules), rule.when, dict(values), row)
    raise ValueError("no rule held: end the table with a rule that always holds")


def check(rules: Sequence[Rule], ruling: Ruling) -> None:
    """Raise unless ``ruling`` is what ``rules`` decide from the values it carries: a verdict, digest or row
    changed after ``decide`` (by hand, or by a rule edited since) does not pass."""
    if ruling.values is None:
        raise ValueError("this ruling carries no values: verdicts come from decide() on a decision table")
    again = decide(rules, ruling.values)
    if (ruling.rule, ruling.verdict, ruling.row) != (again.rule, again.verdict, again.row):
        raise ValueError(f"the ruling says {ruling.verdict!r} (row {ruling.row}, table {ruling.rule or 'none'}) but "
                         f"the table decides {again.verdict!r} (row {again.row}, table {again.rule}) from its values")


def outcomes(rules: Sequence[Rule]) -> list[str]:
    """The verdicts a table can give, in order, without repeats."""
    return list(dict.fromkeys(r.verdict for r in rules))


def table_markdown(rules: Sequence[Rule], ruling: Ruling | None = None,
                   power: dict[str, dict[str, float]] | None = None) -> str:
    """The decision table as a Markdown table; the row that decided is marked. ``power`` ({profile: {outcome:
    share}}) adds a column per profile: how often the experiment at that profile's sample size reaches the
    row's outcome in a world where it is the truth."""
    power = power or {}
    head = "| | outcome | when (rules are tried top to bottom) |" + "".join(f" power, {p} |" for p in power)
    lines = [head, "|---|---|---|" + "---|" * len(power)]
    for row, rule in enumerate(rules):
        mark = "▶" if ruling is not None and row == ruling.row else ""
        shares = "".join(f" {percent_of(p.get(rule.verdict))} |" for p in power.values())
        lines.append(f"| {mark} | **{rule.verdict}** | {rule.when} |{shares}")
    return "\n".join(lines)


def percent_of(share: float | None) -> str:
    return "–" if share is None else f"{100 * share:.0f}%"
