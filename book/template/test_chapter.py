"""Unit tests for deepenough/chapters/CHAPTER_NAME.py: one test per outcome of its verdict, with inputs that reach it.

TODO: inputs like the chapter's real measurements, a test for each outcome the verdict can reach, and tests for
every other function the module gains.
"""
import pytest

from deepenough.chapters.CHAPTER_NAME import CLAIM_ID_RULES, THRESHOLD, VERDICT_FUNCTION
from deepenough.machinery.rules import VERDICTS, outcomes


def interval(low: float, high: float) -> dict:
    return {"mean": (low + high) / 2, "low": low, "high": high, "n": 3}


def test_an_interval_wholly_above_the_threshold_supports_the_claim():
    assert VERDICT_FUNCTION(interval(THRESHOLD + 0.1, THRESHOLD + 0.3)).verdict == "supported"


def test_an_interval_wholly_below_the_threshold_refutes_the_claim():
    assert VERDICT_FUNCTION(interval(THRESHOLD - 0.3, THRESHOLD - 0.1)).verdict == "refuted"


def test_an_interval_that_contains_the_threshold_is_inconclusive():
    assert VERDICT_FUNCTION(interval(THRESHOLD - 0.1, THRESHOLD + 0.1)).verdict == "inconclusive"


@pytest.mark.parametrize("low, high", [(-1.0, -0.5), (-0.5, 1.5), (1.0, 2.0)])
def test_every_ruling_is_in_the_vocabulary_and_gives_its_reason(low, high):
    ruling = VERDICT_FUNCTION(interval(THRESHOLD + low, THRESHOLD + high))
    assert ruling.verdict in VERDICTS and ruling.reason


def test_the_tests_above_reach_every_outcome_the_table_lists():
    assert outcomes(CLAIM_ID_RULES) == ["supported", "refuted", "inconclusive"]
