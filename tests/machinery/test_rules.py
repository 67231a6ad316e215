"""Decision tables: the first rule that holds decides; the table is rendered as it ran."""
import pytest

from deepenough.machinery.rules import Rule, always, decide, digest, outcomes, table_markdown

TABLE = (Rule("refuted", "x is negative", lambda v: v["x"] < 0),
         Rule("inconclusive", "x is unknown", lambda v: v["x"] is None),
         Rule("supported", "otherwise", always))


def test_first_rule_that_holds_decides_and_the_reason_carries_evidence_and_condition():
    ruling = decide(TABLE, {"x": -1}, evidence="x was -1")
    assert ruling.verdict == "refuted" and ruling.reason == "x was -1; so refuted: x is negative"
    assert decide(TABLE, {"x": 3}).verdict == "supported"
    assert ruling.rule == digest(TABLE) and len(ruling.rule) == 12


def test_a_table_without_a_catch_all_or_with_an_unknown_verdict_fails_loudly():
    with pytest.raises(ValueError, match="no rule held"):
        decide(TABLE[:1], {"x": 1})
    with pytest.raises(ValueError, match="unknown verdict"):
        decide((Rule("probably", "always", always),), {})


def test_the_digest_changes_with_the_condition_in_words_or_in_code():
    reworded = (Rule("refuted", "x is below zero", TABLE[0].holds), *TABLE[1:])
    assert digest(reworded) != digest(TABLE)
    assert digest(TABLE) == digest(tuple(TABLE))


def test_outcomes_and_the_rendered_table_mark_the_row_that_decided():
    assert outcomes(TABLE) == ["refuted", "inconclusive", "supported"]
    rendered = table_markdown(TABLE, decide(TABLE, {"x": 5}))
    assert "| ▶ | **supported** | otherwise |" in rendered
    assert rendered.count("▶") == 1
