"""Unit tests of the serial-depth chapter's machinery (deepenough/chapters/serial_depth.py)."""
import random
import re

import numpy as np
import pytest
import torch

from deepenough.chapters import serial_depth
from deepenough.machinery import rules


def test_slope_recovers_a_known_slope():
    points = [(d, 2 * d + 1 + e) for d in (1, 2, 4) for e in (-1, 0, 1)]
    growth = serial_depth.fit_slope(points)
    assert growth["mean"] == pytest.approx(2.0) and growth["low"] < 2.0 < growth["high"]
    assert np.isnan(serial_depth.fit_slope([(1, 3), (1, 4)])["mean"])


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


def learned_run(depth, seed, learned):
    from deepenough.lab.ladder import Route

    return {"route": Route("transformer", depth, 8), "seed": seed, "learned": learned}


def test_the_smallest_learned_depth_is_read_seed_by_seed_and_length_by_length():
    at_4 = [learned_run(1, 0, True), learned_run(2, 0, True), learned_run(1, 1, False), learned_run(2, 1, True)]
    at_8 = [learned_run(1, 0, False), learned_run(4, 0, True), learned_run(1, 1, False), learned_run(4, 1, False)]
    assert serial_depth.smallest_learned_depth(at_4, 0) == 1 and serial_depth.smallest_learned_depth(at_4, 1) == 2
    assert serial_depth.depth_against_length({8: at_8, 4: at_4}, [0, 1]) == {4: [1, 2], 8: [4, None]}


def test_the_shallowest_first_search_stops_at_the_first_depth_that_learns(monkeypatch):
    from deepenough.lab.ladder import Route

    trained = []

    def fake_train(route, group, length, steps, seed, lr):
        trained.append(route.depth)
        return learned_run(route.depth, seed, route.depth >= 2)

    monkeypatch.setattr(serial_depth, "train_route", fake_train)
    routes = [Route("transformer", d, 8) for d in (4, 1, 2)]
    tried = serial_depth.shallowest_first(routes, "a5", 3, 10, 0, 1e-3)
    assert trained == [1, 2] and serial_depth.smallest_learned_depth(tried, 0) == 2
    trained.clear()
    monkeypatch.setattr(serial_depth, "train_route", lambda route, *a: trained.append(route.depth) or
                        learned_run(route.depth, 0, False))
    assert serial_depth.smallest_learned_depth(serial_depth.shallowest_first(routes, "a5", 3, 10, 0, 1e-3), 0) is None
    assert trained == [1, 2, 4]


def test_searched_lengths_gives_each_length_its_searches_with_steps_in_proportion(monkeypatch):
    import torch

    from deepenough.lab.ladder import Route

    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)      # one thread: the searches run here, in order
    monkeypatch.setattr(serial_depth, "train_route", lambda route, group, length, steps, seed, lr:
                        {**learned_run(route.depth, seed, route.depth >= length // 2), "steps": steps})
    found = serial_depth.searched_lengths([Route("transformer", d, 8) for d in (1, 2, 4)], "a5", [0, 1], [2, 4, 8],
                                          800, 1e-3)
    assert {n: [r["steps"] for r in runs] for n, runs in found.items()} == {2: [200] * 2, 4: [400] * 4,
                                                                           8: [800] * 6}
    assert serial_depth.depth_against_length(found, [0, 1]) == {2: [1, 1], 4: [2, 2], 8: [4, 4]}


def test_depth_growth_tells_one_layer_per_step_from_one_per_doubling():
    per_step = serial_depth.depth_growth({n: [n, n, n] for n in (2, 4, 8, 16)})
    assert per_step["length"]["mean"] == pytest.approx(1.0) and per_step["rms_length"] == pytest.approx(0.0)
    assert per_step["rms_log_length"] > 1
    per_doubling = serial_depth.depth_growth({2 ** i: [i, i, None] for i in (1, 2, 3, 4)})
    assert per_doubling["log_length"]["mean"] == pytest.approx(1.0) and per_doubling["rms_log_length"] < 1e-9
    assert per_doubling["censored"] == 4 and per_doubling["points"] == 8
    flat = serial_depth.depth_growth({4: [1, 1], 8: [None, None]})
    assert np.isnan(flat["length"]["mean"]) and np.isnan(flat["rms_length"])


def test_depth_length_sentence_names_each_seed_and_both_slopes():
    needed = {4: [1, 1, 2], 8: [2, None, 2], 12: [4, 4, 4]}
    text = serial_depth.depth_length_sentence(needed, serial_depth.depth_growth(needed))
    assert "at n = 4, 1, 1, 2; at n = 8, 2, none, 2; at n = 12, 4, 4, 4." in text
    assert "Over 8 seed-by-length points, leaving out 1 seed-by-length case where no depth tried learned" in text
    assert "layers per step of chain (95% CI" in text and "layers per doubling of the length" in text
    assert "the straight line on n leaves an RMS residual" in text
    two = {4: [1, 1, 1], 12: [None, 4, 4]}
    exact = serial_depth.depth_length_sentence(two, serial_depth.depth_growth(two))
    assert "0.375 layers per step of chain" in exact and "RMS residual 0.00 layers each" in exact
    assert exact.endswith("two lengths cannot tell one layer per step of chain from one per doubling: that takes a "
                          "third length.")
    doubling = {2: [1, 1], 4: [2, 2], 8: [3, 3]}
    on_a5 = serial_depth.depth_length_sentence(doubling, serial_depth.depth_growth(doubling), "A5")
    assert on_a5.startswith("Trained on A5 at each length n,") and "by 1 layer per doubling of the length" in on_a5
    nothing = {4: [None, None], 12: [None, None]}
    assert serial_depth.depth_length_sentence(nothing, serial_depth.depth_growth(nothing)).endswith(
        "at n = 12, none, none. With 0 seed-by-length points, leaving out 4 seed-by-length cases where no depth "
        "tried learned, no growth can be fitted.")


def test_a_shorter_length_trains_in_proportion():
    assert serial_depth.length_budget(12000, 3e-3, 4, 12) == {"steps": 4000, "lr": 3e-3, "length": 4}


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


@pytest.mark.parametrize("above, low, high, expected", [
    (1, float("nan"), float("nan"), "not testable here"),
    (0, float("nan"), float("nan"), "not testable here"),
    (3, 0.4, 1.6, "supported"),
    (3, -0.3, 0.3, "refuted"),
    (2, -0.5, 1.5, "inconclusive"),
    (2, float("nan"), float("nan"), "inconclusive"),
])
def test_every_hop_outcome_is_reachable(above, low, high, expected):
    ruling = rules.decide(serial_depth.HOP_RULES, dict(above=above, low=low, high=high), "measured")
    assert ruling.verdict == expected
    assert set(rules.outcomes(serial_depth.HOP_RULES)) == {"not testable here", "supported", "refuted", "inconclusive"}


def test_the_hop_table_summarises_items_as_the_page_does():
    items = [{"hops": h, "correct": True, "settle": 10 + 2 * h + e} for h in (0, 1, 2) for e in (-1, 0, 1) * 5]
    ruling = serial_depth.HOP_TABLE.decide(items, "full")
    assert ruling.verdict == "supported" and ruling.values["above"] == 3


def test_designs_count_what_the_settings_run():
    for profile, settings in serial_depth.SETTINGS.items():
        for table in serial_depth.TABLES.values():
            design = table.designs[profile]
            assert design["seeds"] == settings["seeds"] and tuple(design["depths"]) == tuple(settings["depths"])
            assert design["length"] == settings["length"] and tuple(design["hops"]) == tuple(settings["hops"])
            assert design["hop_items"] == settings["hop_items"]


def learned_route(length=12, seeds=3):
    return serial_depth.simulated_route(np.random.default_rng(0), lambda r: 2 * length, length, seeds)


def raw_with(depths, length=12):
    return {"gru": learned_route(length), "cot": learned_route(length), "depths": depths}


def test_c5_reaches_each_outcome_from_raw_runs():
    stuck = serial_depth.simulated_route(np.random.default_rng(1), lambda r: 3, 12, 3)
    design = serial_depth.DESIGNS["full"]
    decide = lambda raw: rules.decide(serial_depth.C5_RULES, serial_depth.summarise_c5(raw, design))  # noqa: E731
    assert decide(raw_with({1: stuck, 2: learned_route()})).verdict == "refuted"
    assert decide(raw_with({1: stuck, 2: stuck})).verdict == "inconclusive"
    gru_short = {**raw_with({1: learned_route()}), "gru": stuck}
    ruling = decide(gru_short)
    assert ruling.verdict == "inconclusive" and ruling.row == 0 and "GRU" in ruling.why


def test_a_depth_counts_from_its_first_seed_that_learned():
    stuck = serial_depth.simulated_route(np.random.default_rng(2), lambda r: 3, 12, 3)
    mixed = learned_route()[:1] + stuck[:2]
    values = serial_depth.summarise_c5(raw_with({1: stuck, 2: mixed, 4: learned_route()}), serial_depth.DESIGNS["full"])
    assert values["shallowest_learned"] == 2 and values["seeds_learned"] == 1
    none = serial_depth.summarise_c5(raw_with({1: stuck, 4: stuck}), serial_depth.DESIGNS["full"])
    assert none["shallowest_learned"] == 0 and none["seeds_learned"] == 0


def untrained(route, length=12):
    """A model straight from initialisation, with a perfect accuracy curve pinned on it: only its control says
    what it is."""
    from deepenough.lab import ladder, train

    model = ladder.build(route, "s3", seed=0, max_len=8 * length + 8)
    held_out = serial_depth.at_length("s3", length, "none", serial_depth.HELD_OUT_SEED)
    control = train.positive_control(model, held_out, serial_depth.CHANCE)
    return {"accuracy": np.ones(2 * length), "learned": control["learned"]}


def test_an_untrained_model_cannot_move_c5_off_inconclusive():
    from deepenough.lab.ladder import Route

    depths = {d: [untrained(Route("transformer", d, 16, heads=2))] * 3 for d in (1, 2)}
    assert not any(r["learned"] for runs in depths.values() for r in runs)
    ruling = serial_depth.C5_TABLE.decide(raw_with(depths), "quick")
    assert ruling.verdict == "inconclusive" and ruling.row == 2


def test_train_route_records_a_positive_control():
    from deepenough.lab.ladder import Route

    result = serial_depth.train_route(Route("gru", 1, 8), "s3", length=4, steps=3, seed=0, lr=1e-3)
    assert set(result["control"]) >= {"accuracy", "chance", "learned", "at"}
    assert result["learned"] == result["control"]["learned"] and len(result["accuracy"]) == 8
    assert [step for step, _ in result["curve"]] == [1, 2, 3]


def test_the_training_rate_counts_the_curriculum_tokens_over_the_training_seconds():
    from deepenough.lab import ladder

    run = {"flops": 100.0, "steps": 8, "seconds": 2.0}
    tokens = sum(ladder.chain_at(i, 12, serial_depth.ramp(8), serial_depth.CURRICULUM_START) + 1 for i in range(8))
    assert serial_depth.ramp(8) == 2   # a quarter of the steps
    assert serial_depth.training_rate(run, 12) == pytest.approx(3 * 100.0 * ladder.BATCH * tokens / 2.0)


def test_sweeps_give_each_plan_its_runs_route_by_route_seed_by_seed(monkeypatch):
    from deepenough.lab.ladder import Route

    monkeypatch.setattr(serial_depth, "train_route", lambda **job: job)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)   # in this process: a lambda cannot be sent to another
    a, b, c = Route("transformer", 1, 8), Route("transformer", 2, 8), Route("gru", 1, 8)
    runs = serial_depth.sweeps({"main": ([a, b], "s3", lambda r: dict(steps=r.depth, lr=1.0)),
                                "a5": ([c], "a5", lambda r: dict(steps=9, lr=2.0)),
                                "short": ([a], "s3", lambda r: dict(steps=3, lr=1.0, length=2))},
                               seeds=[5, 6], length=4)
    assert [(r["route"], r["seed"], r["steps"]) for r in runs["main"]] == [(a, 5, 1), (a, 6, 1), (b, 5, 2), (b, 6, 2)]
    assert [(r["group"], r["seed"], r["lr"]) for r in runs["a5"]] == [("a5", 5, 2.0), ("a5", 6, 2.0)]
    assert {r["length"] for r in runs["main"]} == {4} and [r["length"] for r in runs["short"]] == [2, 2]


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


def runs_scoring(*scores):
    return [{"control": {"accuracy": a, "chance": 1 / 6}, "learned": a >= serial_depth.LEARNED} for a in scores]


def test_c5_evidence_names_every_route_and_which_learned():
    controls = {"transformer 2x64": runs_scoring(0.62, 0.64, 0.7), "GRU 1x64": runs_scoring(1.0, 1.0, 1.0)}
    text = serial_depth.c5_evidence(12, controls, "not testable here")
    assert text == ("on S3 chains of 12 over 3 seeds, held-out accuracy at the training length was transformer 2x64 "
                    "62% to 70% (learned in 0 of 3) and GRU 1x64 100% (learned in 3 of 3) (a model learned when it "
                    "scored at least 95%); the hop-depth part on SmolLM2, decided by its own table, is not "
                    "testable here")


def test_learned_table_and_sentence():
    routes = {"GRU 1x64": runs_scoring(1.0, 0.99, 1.0), "transformer 4x64": runs_scoring(0.96, 0.5, 0.97),
              "transformer 1x64": runs_scoring(0.6, 0.5, 0.6)}
    table = serial_depth.learned_table(routes)
    assert "| GRU 1x64 | 100.0%, 99.0%, 100.0% | 17% | 3 of 3 |" in table and "| **2 of 3** |" in table
    assert "| **0 of 3** |" in table
    assert serial_depth.learned_sentence(serial_depth.learned_groups(routes)) == (
        "Learned in every seed: GRU 1x64. In some seeds, not all: transformer 4x64. In no seed (held-out accuracy "
        "under 95%), so no rule reads them: transformer 1x64.")
    assert serial_depth.learned_sentence({"every": [], "some": [], "none": []}) == "Learned in every seed: none."


def test_the_verdict_why_stands_alone():
    """The verdict box shows the rule's condition alone: it must not point the reader elsewhere."""
    for rule in serial_depth.C5_RULES:
        assert "in the evidence" not in rule.when


def test_depth_needed_reads_plain_transformers_only():
    from deepenough.lab.ladder import Route

    runs = [{"route": Route("transformer", 1, 64), "k_star": 4}, {"route": Route("transformer", 1, 64), "k_star": 5},
            {"route": Route("transformer", 1, 64, mode="filler"), "k_star": 1},
            {"route": Route("transformer", 1, 64, mode="cot"), "k_star": 12},
            {"route": Route("transformer", 2, 64), "k_star": 6}, {"route": Route("gru", 1, 64), "k_star": 12}]
    assert serial_depth.depth_needed(runs, [1, 2], 8) == [1, 1, 1, 1, 2, 2, None, None]


def test_by_route_and_length_names_each_route_at_each_length_in_the_order_tried():
    found = {3: [learned_run(2, 0, True), learned_run(1, 0, False), learned_run(1, 1, True)],
             12: [learned_run(1, 0, False)]}
    named = serial_depth.by_route_and_length(found)
    assert list(named) == ["transformer 1x8 at n = 3", "transformer 2x8 at n = 3", "transformer 1x8 at n = 12"]
    assert [r["seed"] for r in named["transformer 1x8 at n = 3"]] == [0, 1]
