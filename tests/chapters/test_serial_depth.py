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


# --- the sentences the page prints -------------------------------------------------------------------

def ci(mean, low=None, high=None):
    return {"mean": mean, "low": mean if low is None else low, "high": mean if high is None else high, "n": 3}


NAN = ci(float("nan"))


def test_k_star_reads_exact_when_the_seeds_agree_and_as_an_interval_otherwise():
    assert serial_depth.steps(ci(12.0)) == "12 steps in every seed"
    assert serial_depth.steps(ci(1.0)) == "1 step in every seed"
    assert serial_depth.steps(ci(2.25, 1.46, 3.05)) == "2.2 steps (95% CI 1.5 to 3.0 over seeds)"
    assert serial_depth.mean_of(ci(12.0)) == "12" and serial_depth.mean_of(ci(2.333, 1.0, 3.7)) == "2.3"


def test_heat_label_gives_the_interval_under_the_mean_unless_exact():
    assert serial_depth.heat_label(ci(12.0)) == "12" and serial_depth.heat_label(ci(0.0)) == "0"
    assert serial_depth.heat_label(ci(2.25, 1.46, 3.05)) == "2.2\n[1.5, 3.0]"
    assert serial_depth.heat_label(ci(10.75, 9.95, 12.0)) == "10.8\n[9.9, 12]"


@pytest.mark.parametrize("best, against", [
    (ci(3.0, 2.0, 4.0), "short of the GRU"),
    (ci(11.0, 9.0, 12.0), "level with the GRU within the intervals over seeds"),
    (ci(12.0), "beyond the GRU"),
])
def test_heat_sentence_compares_the_best_transformer_with_the_gru(best, against):
    text = serial_depth.heat_sentence("S3", 12, ci(8.0, 7.0, 10.0), ci(12.0), 4, best)
    assert text.startswith("On S3 the one-layer GRU tracks 8 of 12 steps and one layer writing its state 12;")
    assert text.endswith(f"(depth 4) tracks {serial_depth.mean_of(best)}, {against}.")


def test_length_sentence_gives_shares_to_the_precision_of_their_intervals():
    text = serial_depth.length_sentence(ci(0.9995, 0.9982, 1.0), ci(1.0), ci(0.172, 0.169, 0.174), 4)
    assert text == ("Beyond the training length the GRU keeps 99.95% mean accuracy, chain of thought 100% and the "
                    "4-layer transformer 17.2%.")
    assert serial_depth.share(ci(0.5, 0.3, 0.7)) == "50%"


@pytest.mark.parametrize("law", ["flat", "linear", "log", "indistinguishable"])
def test_fit_sentence_names_the_law(law):
    text = serial_depth.fit_sentence(ci(0.07, -0.18, 0.33), law)
    assert text.startswith("Each added layer changes k* by 0.1 steps (95% CI -0.2 to 0.3 over seed-by-depth points);")
    assert text.endswith(serial_depth.LAW_WORDS[law] + ".")


def test_fit_sentence_without_a_slope():
    assert "cannot be measured" in serial_depth.fit_sentence(NAN, "indistinguishable")
    assert serial_depth.slope_text(NAN, "steps", "seeds") == "not measurable"


def test_minimal_depths_groups_runs_of_the_same_depth():
    minimal = {1: 1, 2: 1, 3: 1, 4: 2, 5: 4, 6: None}
    assert serial_depth.minimal_depths(minimal) == "depth 1 for k = 1 to 3, depth 2 for k = 4 and depth 4 for k = 5"
    assert serial_depth.minimal_depths({1: 2}) == "depth 2 for k = 1"
    assert serial_depth.minimal_depths({1: None, 2: None}) == "none"


def test_hop_lists():
    assert serial_depth.hop_counts([0, 1, 2]) == "0, 1 and 2" and serial_depth.hop_counts([]) == "none"
    accuracy = {0: serial_depth.proportion_ci(30, 40), 1: serial_depth.proportion_ci(20, 40)}
    assert serial_depth.hop_accuracies(accuracy) == ("h = 0: 75% (95% CI 60% to 86%) and "
                                                     "h = 1: 50% (95% CI 35% to 65%)")
    assert serial_depth.settle_means({0: [20, 21], 1: [], 2: [25]}) == "h = 0: layer 20.5 and h = 2: layer 25"
    assert serial_depth.settle_means({0: [], 1: []}) == "none"
    assert serial_depth.greedy_sentence(serial_depth.proportion_ci(0, 40)).startswith(
        "Over the whole vocabulary, the greedy next token is the answer digit in 0% (95% CI 0% to ")


@pytest.mark.parametrize("above, slope, expected", [
    ([], NAN, "above chance at no hop count: fewer than two hop counts"),
    ([0], NAN, "above chance at h = 0: fewer than two hop counts"),
    ([0, 1], NAN, "above chance at h = 0 and 1, but too few of those items settle"),
    ([0, 1, 2], ci(0.5, 0.2, 0.8), "above chance at h = 0, 1 and 2; over those items the settle layer moves 0.5 "
                                   "layers per hop (95% CI 0.2 to 0.8 over items)."),
])
def test_hop_sentence_says_why_a_slope_is_missing(above, slope, expected):
    assert expected in serial_depth.hop_sentence(above, slope)


def test_hop_evidence_adds_the_slope_only_when_measured():
    accuracy = {0: ci(0.75), 1: ci(0.5)}
    text = serial_depth.hop_evidence(accuracy, [0], NAN, 40)
    assert text == ("SmolLM2 ranked the answer first among 2 candidates at h = 0: 75% and h = 1: 50% "
                    "(40 questions each); above chance at h = 0")
    assert serial_depth.hop_evidence(accuracy, [], NAN, 40).endswith("; above chance at no hop count")
    assert serial_depth.hop_evidence(accuracy, [0, 1], ci(0.5, 0.2, 0.8), 40).endswith(
        "; settle-layer slope 0.5 layers per hop (95% CI 0.2 to 0.8 over items)")


def test_seeds_needed_scale_with_the_square_of_the_width():
    assert serial_depth.seeds_needed(ci(0.0, -0.25, 0.25), 4) == 16
    assert serial_depth.seeds_needed(ci(0.0, -0.1, 0.1), 4) == 3
    assert serial_depth.seeds_needed(NAN, 4) is None


@pytest.mark.parametrize("growth, expected", [
    (ci(0.0, -0.25, 0.25), "; narrowing it to ±0.125 would take about 16 seeds at these depths"),
    (ci(0.0, -0.1, 0.1), "; that is within ±0.125, narrow enough to decide"),
    (NAN, ""),
])
def test_precision_clause(growth, expected):
    assert serial_depth.precision_clause(growth, 4) == expected


def test_seed_range():
    assert serial_depth.seed_range([12, 12, 12]) == "12 steps in every seed"
    assert serial_depth.seed_range([3, 5, 4]) == "3 to 5 steps across seeds"


def test_c5_evidence_reads_as_one_sentence_and_feeds_the_verdict():
    hop = {"above": [0], "slope": NAN}
    text = serial_depth.c5_evidence("S3", 12, [12, 12, 12], {1: [2, 2, 2], 2: [3, 3, 3], 4: [2, 3, 2]},
                                    ci(0.07, -0.18, 0.33), [12, 11, 12], hop, "not testable here")
    assert text == ("on S3 with chains of 12 over 3 seeds, the one-layer GRU tracked 12 steps in every seed; "
                    "transformers of depth 1, 2 and 4 tracked 2, 3 and 2.3 steps on average, a slope of 0.1 steps "
                    "per layer (95% CI -0.2 to 0.3 over seed-by-depth points); narrowing it to ±0.125 would take "
                    "about 13 seeds at these depths; one layer writing its state tracked 11 to 12 steps across seeds; "
                    "SmolLM2 answered above chance at 1 hop count, settle-layer slope not measurable, so the "
                    "hop-depth part is not testable here")
    ruling = serial_depth.c5_verdict(**{**BASE, "growth": ci(0.07, -0.18, 0.33)}, evidence=text)
    assert ruling.verdict == "inconclusive" and ruling.reason.startswith(text)


def test_the_verdict_why_stands_alone():
    """The verdict box shows the rule's condition alone: it must not point the reader elsewhere."""
    for rule in serial_depth.C5_RULES:
        assert "in the evidence" not in rule.when
