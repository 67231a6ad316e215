"""Unit tests of the serial-depth chapter's machinery (deepenough/chapters/serial_depth.py)."""
import random
import re

import numpy as np
import pytest
import torch

from deepenough.chapters import serial_depth
from deepenough.machinery import rules


def test_growth_per_layer_recovers_a_known_slope():
    points = [(d, 2 * d + 1 + e) for d in (1, 2, 4) for e in (-1, 0, 1)]
    growth = serial_depth.growth_per_layer(points)
    assert growth["mean"] == pytest.approx(2.0) and growth["low"] < 2.0 < growth["high"]
    assert np.isnan(serial_depth.growth_per_layer([(1, 3), (1, 4)])["mean"])


def test_law_is_flat_linear_or_log_as_the_points_say():
    flat = [(d, k) for d in (1, 2, 4) for k in (3, 3, 4)]
    linear = [(d, 2 * d + e) for d in (1, 2, 3, 4, 5) for e in (0, 1)]
    log = [(d, 2 ** d) for d in (1, 2, 3, 4) for _ in range(2)]
    assert serial_depth.which_law(flat, length=12) == "flat"
    assert serial_depth.which_law(linear, length=40) == "linear"
    assert serial_depth.which_law(log, length=40) == "log"


def test_law_leaves_out_censored_points():
    points = [(1, 3), (1, 3), (2, 12), (2, 12), (4, 12)]
    assert serial_depth.which_law(points, length=12) == "indistinguishable"   # only one depth left


def test_minimal_depth_needs_every_seed():
    k_by_depth = {1: [3, 2, 3], 2: [5, 6, 4], 4: [12, 12, 12]}
    assert serial_depth.minimal_depth(k_by_depth, 2) == 1
    assert serial_depth.minimal_depth(k_by_depth, 3) == 2
    assert serial_depth.minimal_depth(k_by_depth, 12) == 4
    assert serial_depth.minimal_depth({1: [3]}, 4) is None


def resolve(question: str) -> int:
    """An oracle that follows the bindings of a hop question by hand."""
    statements, asked = question.removeprefix("Let ").rsplit(". Then ", 1)
    bindings = dict(re.findall(r"(\w) = (\w)", statements))
    name = asked.removesuffix(" = ")
    while not name.isdigit():
        name = bindings[name]
    return int(name)


@pytest.mark.parametrize("hops", [0, 1, 3])
def test_hop_questions_have_the_answer_their_bindings_give(hops):
    rng = random.Random(hops)
    for _ in range(20):
        question, answer, candidates = serial_depth.hop_prompt(hops, rng)
        assert resolve(question) == answer and answer in candidates
        assert len(set(candidates)) == serial_depth.HOP_CHAINS
        assert question.count(" = ") == serial_depth.HOP_CHAINS * (hops + 1) + 1
        assert question.endswith(" = ") and "=" not in question.replace(" = ", "")


def test_hop_text_gives_worked_examples_then_the_question():
    text, answer, _ = serial_depth.hop_text(2, random.Random(0))
    lines = text.split("\n")
    assert len(lines) == serial_depth.HOP_SHOTS + 1 and text.endswith(" = ")
    for line in lines[:-1]:
        question, given = line[:-1], line[-1]
        assert resolve(question) == int(given)
    assert resolve(lines[-1]) == answer


def test_a_variable_is_the_same_token_where_defined_and_where_used():
    """The format's point: with a space before every name, `` b`` in ``c = b`` is the token of ``b = 7``."""
    question, _, _ = serial_depth.hop_prompt(2, random.Random(1))
    words = re.findall(r"[ (]?\w+", question)
    names = [w for w in words if w.strip().isalpha() and len(w.strip()) == 1]
    assert all(w.startswith(" ") for w in names)


def test_settle_layer_is_where_the_answer_stays_on_top():
    logits = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    assert serial_depth.settle_layer(logits, 0) == 2
    assert serial_depth.settle_layer(logits, 1) is None
    assert serial_depth.settle_layer(torch.tensor([[1.0, 0.0], [1.0, 0.0]]), 0) == 0


def test_hop_summary_measures_a_slope_only_over_hops_above_chance():
    items = [{"hops": h, "correct": ok, "settle": 10 + 2 * h if ok else None}
             for h in (0, 1, 2) for ok in ([True] * 18 + [False] * 2 if h < 2 else [True] * 5 + [False] * 5)]
    summary = serial_depth.hop_summary(items, chance=0.5)
    assert summary["above"] == [0, 1]
    assert summary["slope"]["mean"] == pytest.approx(2.0)
    assert np.isnan(serial_depth.hop_summary([i for i in items if i["hops"] == 2], 0.5)["slope"]["mean"])


def test_hop_counts_above_chance_stop_at_the_first_failure():
    """A pass at two hops after a failure at one is noise around chance, as for k*."""
    good, chance_level = [True] * 18 + [False] * 2, [True] * 10 + [False] * 10
    items = [{"hops": h, "correct": ok, "settle": 5 if ok else None}
             for h, answers in ((0, good), (1, chance_level), (2, good)) for ok in answers]
    assert serial_depth.hop_summary(items, chance=0.5)["above"] == [0]


def hop_result(above, low, high):
    return {"above": above, "slope": {"mean": (low + high) / 2, "low": low, "high": high}}


@pytest.mark.parametrize("hop, expected", [
    (hop_result([0], float("nan"), float("nan")), "not testable here"),
    (hop_result([], float("nan"), float("nan")), "not testable here"),
    (hop_result([0, 1, 2], 0.4, 1.6), "supported"),
    (hop_result([0, 1, 2], -0.3, 0.3), "refuted"),
    (hop_result([0, 1], -0.5, 1.5), "inconclusive"),
    (hop_result([0, 1], float("nan"), float("nan")), "inconclusive"),
])
def test_every_hop_outcome_is_reachable(hop, expected):
    ruling = serial_depth.hop_verdict(hop, evidence="measured")
    assert ruling.verdict == expected and ruling.rule == rules.digest(serial_depth.HOP_RULES)
    assert set(rules.outcomes(serial_depth.HOP_RULES)) == {"not testable here", "supported", "refuted", "inconclusive"}


BASE = dict(length=12, gru_k=[12, 12, 12], k_by_depth={1: [3, 3, 2], 2: [4, 5, 4], 4: [8, 7, 8]},
            growth={"mean": 1.5, "low": 1.4, "high": 1.6}, cot_k=[5, 4, 6], hop_part="supported")


@pytest.mark.parametrize("change, expected", [
    ({"gru_k": [12, 7, 12]}, "inconclusive"),
    ({"k_by_depth": {1: [12, 12, 12], 2: [12, 12, 12]}}, "refuted"),
    ({"growth": {"mean": 0.4, "low": -0.3, "high": 1.1}}, "inconclusive"),
    ({"cot_k": [12, 12, 12]}, "nuanced"),
    ({}, "supported"),
    ({"hop_part": "not testable here"}, "nuanced"),
    ({"hop_part": "inconclusive"}, "nuanced"),
    ({"hop_part": "refuted"}, "nuanced"),
    ({"growth": {"mean": 0.2, "low": 0.1, "high": 0.3}, "cot_k": [12, 12, 12]}, "nuanced"),
    ({"growth": {"mean": 0.0, "low": -0.1, "high": 0.1}, "cot_k": [12, 12, 12]}, "nuanced"),
])
def test_every_c5_outcome_is_reachable(change, expected):
    ruling = serial_depth.c5_verdict(**{**BASE, **change}, evidence="measured")
    assert ruling.verdict == expected and ruling.rule == rules.digest(serial_depth.C5_RULES)
    assert set(rules.outcomes(serial_depth.C5_RULES)) == {"inconclusive", "refuted", "nuanced", "supported"}


@pytest.mark.parametrize("low, high", [(0.09, 0.53), (-0.12, 0.50), (-0.31, 0.40)])
def test_a_slope_interval_wider_than_the_precision_is_inconclusive(low, high):
    """The three quick stability seeds' intervals: each crossed a threshold the others did not."""
    ruling = serial_depth.c5_verdict(**{**BASE, "growth": {"mean": (low + high) / 2, "low": low, "high": high}})
    assert ruling.verdict == "inconclusive" and "wider than" in ruling.reason


def test_an_unmeasurable_slope_is_inconclusive():
    ruling = serial_depth.c5_verdict(**{**BASE, "growth": {"mean": float("nan"), "low": float("nan"),
                                                           "high": float("nan")}})
    assert ruling.verdict == "inconclusive"


def test_a_hop_part_short_of_supported_names_the_pretrained_model():
    ruling = serial_depth.c5_verdict(**{**BASE, "hop_part": "not testable here"})
    assert ruling.verdict == "nuanced" and "hop-depth part is not supported" in ruling.reason


def test_flat_growth_names_the_one_step_per_layer_limit():
    ruling = serial_depth.c5_verdict(**{**BASE, "growth": {"mean": 0.0, "low": 0.0, "high": 0.0}})
    assert ruling.verdict == "nuanced" and "did not lengthen the chain" in ruling.reason
