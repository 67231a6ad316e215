"""Unit tests for deepenough/chapters/CHAPTER_NAME.py: one test per outcome of its verdict, with inputs that reach it,
and the power of each outcome at the full profile's own sample size.

TODO: inputs like the chapter's real measurements, a test for each outcome the verdict can reach, and tests for
every other function the module gains.
"""
import pytest

from deepenough.chapters.CHAPTER_NAME import SETTINGS, TABLES, THRESHOLD, VERDICT_FUNCTION
from deepenough.machinery.power import POWER_MIN, unreachable
from deepenough.machinery.rules import VERDICTS, outcomes


def test_seeds_wholly_above_the_threshold_support_the_claim():
    assert VERDICT_FUNCTION([THRESHOLD + 0.2, THRESHOLD + 0.25, THRESHOLD + 0.3], "quick").verdict == "supported"


def test_seeds_wholly_below_the_threshold_refute_the_claim():
    assert VERDICT_FUNCTION([THRESHOLD - 0.3, THRESHOLD - 0.25, THRESHOLD - 0.2], "quick").verdict == "refuted"


def test_seeds_around_the_threshold_are_inconclusive():
    assert VERDICT_FUNCTION([THRESHOLD - 0.1, THRESHOLD, THRESHOLD + 0.1], "quick").verdict == "inconclusive"


@pytest.mark.parametrize("shift", [-0.5, 0.0, 0.5])
def test_every_ruling_is_in_the_vocabulary_and_gives_its_reason(shift):
    ruling = VERDICT_FUNCTION([THRESHOLD + shift - 0.05, THRESHOLD + shift, THRESHOLD + shift + 0.05], "quick")
    assert ruling.verdict in VERDICTS and ruling.reason


def test_every_outcome_is_reached_under_full_in_the_world_where_it_is_true():
    table = TABLES["CLAIM_ID"]
    assert outcomes(table.rules) == ["supported", "refuted", "inconclusive"]
    assert unreachable(table.power("full")) == [], f"power under full: {table.power('full')}, need {POWER_MIN}"
    assert table.designs["full"]["seeds"] == SETTINGS["full"]["seeds"]
