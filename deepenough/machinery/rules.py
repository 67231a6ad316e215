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
    """What every verdict function returns: the verdict, the reason (the evidence, then the rule's condition),
    the digest of its decision table, and the condition alone (one plain sentence of why)."""
    verdict: str
    reason: str
    rule: str = ""
    why: str = ""


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
    for rule in rules:
        if rule.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {rule.verdict!r}; use one of {VERDICTS}")
        if rule.holds(values):
            reason = f"{evidence}; so {rule.verdict}: {rule.when}" if evidence else f"{rule.verdict}: {rule.when}"
            return Ruling(rule.verdict, reason, digest(rules), rule.when)
    raise ValueError("no rule held: end the table with a rule that always holds")


def outcomes(rules: Sequence[Rule]) -> list[str]:
    """The verdicts a table can give, in order, without repeats."""
    return list(dict.fromkeys(r.verdict for r in rules))


def table_markdown(rules: Sequence[Rule], ruling: Ruling | None = None) -> str:
    """The decision table as a Markdown table; the row that decided is marked."""
    lines = ["| | outcome | when (rules are tried top to bottom) |", "|---|---|---|"]
    decided = False
    for rule in rules:
        mark = ""
        if ruling is not None and not decided and rule.verdict == ruling.verdict and rule.when in ruling.reason:
            mark, decided = "▶", True
        lines.append(f"| {mark} | **{rule.verdict}** | {rule.when} |")
    return "\n".join(lines)
