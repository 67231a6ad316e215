"""Unit tests of the depth-versus-width machinery (deepenough/chapters/depth_width.py)."""
import math

import numpy as np
import pytest
import torch

from deepenough.chapters import depth_width
from deepenough.lab import ladder, tiny, train
from deepenough.machinery import records


def test_parameter_formula_matches_built_model():
    for depth, width in [(1, 8), (3, 12)]:
        model = depth_width.build_model(depth_width.Shape(depth, width), vocab=5, seed=0)
        assert tiny.count_params(model, embeddings=False) == depth_width.body_params(depth, width)


def test_family_holds_budget_and_trades_width_for_depth():
    family = depth_width.family(25_000, [1, 2, 4])
    widths = [s.width for s in family]
    assert widths == sorted(widths, reverse=True)
    assert all(s.width % depth_width.WIDTH_STEP == 0 for s in family)
    for s in family:
        assert abs(depth_width.body_params(s.depth, s.width) - 25_000) / 25_000 < 0.15


def test_looped_model_has_one_block_of_parameters_and_loops_of_flops():
    one = depth_width.build_model(depth_width.Shape(1, 8), vocab=2, seed=0)
    looped = depth_width.build_model(depth_width.Shape(1, 8, loops=3), vocab=2, seed=0)
    assert tiny.count_params(looped) == tiny.count_params(one)
    assert tiny.flops_per_token(looped, 16) > 2.5 * tiny.flops_per_token(one, 16)
    assert depth_width.Shape(1, 8, loops=3).passes == 3
    with pytest.raises(ValueError):
        depth_width.build_model(depth_width.Shape(2, 8, loops=2), vocab=2, seed=0)


def test_fact_table_has_distinct_names_and_valid_attributes():
    table = depth_width.fact_table(200, alphabet=8, n_attributes=4, seed=1)
    assert table.names.shape == (200, depth_width.NAME_LENGTH)
    assert len({tuple(n) for n in table.names.tolist()}) == 200
    assert int(table.names.max()) < 8 and 0 <= int(table.attributes.min()) and int(table.attributes.max()) < 4
    assert table.bits == 200 * 2
    with pytest.raises(ValueError):
        depth_width.fact_table(8 ** 3 + 1, alphabet=8, n_attributes=4)


def test_fact_batches_score_only_the_attribute():
    table = depth_width.fact_table(50, alphabet=8, n_attributes=4, seed=0)
    ids, targets = depth_width.fact_batches(table, 32)(torch.Generator().manual_seed(0))
    assert (targets[:, :-1] == train.IGNORE).all()
    lookup = {tuple(n): int(a) for n, a in zip(table.names.tolist(), table.attributes)}
    assert all(int(t) - table.alphabet == lookup[tuple(n)] for n, t in zip(ids.tolist(), targets[:, -1]))


class FixedLogits(torch.nn.Module):
    """A stand-in model that returns the same logits for every name, or the right answer with certainty."""

    def __init__(self, table, perfect):
        super().__init__()
        self.table, self.perfect = table, perfect

    def forward(self, ids):
        out = torch.zeros(*ids.shape, self.table.vocab)
        if self.perfect:
            out[:, -1, self.table.alphabet + self.table.attributes] = 0.0
            out[torch.arange(len(ids)), -1, self.table.alphabet + self.table.attributes] = 50.0
        return out


def test_bits_stored_is_table_bits_when_perfect_and_zero_when_guessing():
    table = depth_width.fact_table(64, alphabet=8, n_attributes=16, seed=0)
    assert depth_width.bits_stored(FixedLogits(table, perfect=True), table) == pytest.approx(table.bits, rel=1e-4)
    assert depth_width.bits_stored(FixedLogits(table, perfect=False), table) == pytest.approx(0.0, abs=1e-3)


@pytest.mark.slow  # trains for seconds
def test_small_model_memorises_a_small_table():
    table = depth_width.fact_table(32, alphabet=4, n_attributes=8, seed=0)
    result = depth_width.run_storage(depth_width.Shape(1, 16), table, steps=200, batch=64, seed=0, lr=1e-2)
    assert result["bits"] > 0.5 * table.bits
    assert result["bits_per_param"] == pytest.approx(result["bits"] / result["params"])


def ci(mean, half):
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": 3}


def test_log_storage_ratio_is_symmetric_and_floored():
    assert depth_width.log_storage_ratio(0.2, 0.1) == pytest.approx(math.log(2))
    assert depth_width.log_storage_ratio(0.1, 0.2) == pytest.approx(-math.log(2))
    assert depth_width.log_storage_ratio(0.0, 0.0) == 0.0
    assert math.isfinite(depth_width.log_storage_ratio(0.0, 1.0))


def storage_of(wide, deep):
    return {"shapes": {"1x40": [{"bits_per_param": b, "share": 0.4} for b in wide],
                       "4x20": [{"bits_per_param": b, "share": 0.4} for b in deep]},
            "shallow": "1x40", "deep": "4x20"}


def test_storage_advantage_is_the_geometric_mean_ratio_and_reads_as_percent_more():
    advantage = depth_width.storage_summary(storage_of([1.5, 1.5, 1.5], [1.0, 1.0, 1.0]))["advantage"]
    assert advantage["mean"] == pytest.approx(0.5) and advantage["low"] == advantage["high"]
    assert depth_width.storage_sentence(advantage, None) == (
        "per parameter the shallow-wide shape stores 50% more than the deep-narrow one in every seed")
    halves = depth_width.storage_summary(storage_of([1.0, 2.0, 4.0], [2.0, 4.0, 8.0]))["advantage"]
    assert halves["mean"] == pytest.approx(-0.5)


def test_the_storage_worlds_spread_and_the_sentence_that_checks_them():
    sds = depth_width.storage_seed_sd(storage_of([1.0, 1.0, 1.0], [1.0, math.e, 1.0]))
    assert sds["1x40"] == 0.0 and sds["4x20"] == pytest.approx(np.std([0, 1, 0], ddof=1))
    assert "more than the" in depth_width.spread_sentence(sds) and "optimistic" in depth_width.spread_sentence(sds)
    tight = {"1x40": depth_width.STORAGE_SEED_SD / 2, "4x20": 0.0}
    assert "within the" in depth_width.spread_sentence(tight)
    drawn = depth_width.world_storage(np.random.default_rng(0), dict(depth_width.DESIGNS["full"], seeds=200), 0.0)
    assert max(depth_width.storage_seed_sd(drawn).values()) == pytest.approx(depth_width.STORAGE_SEED_SD, rel=0.2)


def test_levine_threshold():
    assert depth_width.levine_threshold(27) == pytest.approx(3.0)
    assert 5 < depth_width.levine_threshold(576) < 6


def test_storage_that_fills_the_table_is_not_a_measurement_of_shape():
    assert not depth_width.storage_measured([{"mean": 0.5, "low": 0.4, "high": 0.6},
                                             {"mean": 0.97, "low": 0.95, "high": 0.99}])




def test_serial_route_keeps_the_shape():
    route = depth_width.serial_route(depth_width.Shape(2, 28))
    assert (route.kind, route.depth, route.width, route.heads) == ("transformer", 2, 28, depth_width.HEADS)
    assert depth_width.serial_route(depth_width.Shape(1, 20, loops=4)).kind == "looped"


def test_designs_count_what_the_settings_run():
    for profile, settings in depth_width.SETTINGS.items():
        for table in depth_width.TABLES.values():
            design = table.designs[profile]
            assert design["seeds"] == settings["seeds"] and design["length"] == settings["length"]
            assert tuple(design["depths"]) == tuple(settings["depths"])
            assert tuple(design["gru_widths"]) == tuple(settings["gru_widths"])
            assert tuple(design["widen"]) == tuple(settings["widen"])


def runs_of(rng, tracked, seeds=3, length=12):
    return depth_width.simulated_runs(rng, [tracked] * seeds, length)


def serial(tracks, design=None):
    design = design or depth_width.DESIGNS["full"]
    return depth_width.world_serial(np.random.default_rng(0), design, tracks)


def storage(advantage):
    return depth_width.world_storage(np.random.default_rng(0), depth_width.DESIGNS["full"], advantage)


@pytest.mark.parametrize("world, expected, row", [
    (lambda g, r, n, i: 3 if g == "gru" else 2 * n, "inconclusive", 0),
    (depth_width.STUCK, "inconclusive", 1),
    (lambda g, r, n, i: 2 * n, "refuted", 3),
    (depth_width.SHORTCUT, "supported", 5),
    (depth_width.SOME_SEEDS, "supported", 5),
])
def test_c7_reads_raw_runs_row_by_row(world, expected, row):
    raw = {"serial": serial(world), "storage": storage(0.0)}
    ruling = depth_width.TABLES["C7"].decide(raw, "full")
    assert (ruling.verdict, ruling.row) == (expected, row)


def test_c7_width_that_stores_more_is_nuanced():
    raw = {"serial": serial(depth_width.SHORTCUT), "storage": storage(0.5)}
    assert depth_width.TABLES["C7"].decide(raw, "full").verdict == "nuanced"


def test_c10_prices_only_routes_that_learned():
    learned_wide = lambda g, r, n, i: 2 * n if g in ("gru", "wide") else 3  # noqa: E731
    assert depth_width.TABLES["C10"].decide(serial(learned_wide), "full").verdict == "supported"
    ruling = depth_width.TABLES["C10"].decide(serial(depth_width.STUCK), "full")
    assert ruling.verdict == "inconclusive" and ruling.row == 1 and ruling.values["transformer"] is None
    one_block = lambda g, r, n, i: 2 * n if (g == "gru" and r.width >= 64) or (g == "family" and r.depth == 1) else 3  # noqa: E731
    assert depth_width.TABLES["C10"].decide(serial(one_block), "full").verdict == "refuted"


def test_a_transformer_counts_from_its_first_seed_that_learned():
    """One seed that learned shows what the shape can do; the gap reads the longest chain any learned run tracks."""
    one_seed = lambda g, r, n, i: 2 * n if g == "gru" else 14 if (g == "family" and r.depth == 2 and i == 3) else 3  # noqa: E731
    raw = serial(one_seed)
    assert depth_width.best_learned_chain(raw) in (13, 14, 15)
    gap = depth_width.serial_gap(raw)
    gru_chains = [depth_width.chain_longest(r) for r in raw["routes"][raw["gru"]]["runs"]]
    assert gap["mean"] == pytest.approx(np.mean(gru_chains) - depth_width.best_learned_chain(raw))
    c7 = depth_width.TABLES["C7"].decide({"serial": raw, "storage": storage(0.0)}, "full")
    assert c7.values["shapes_learned"] == 1 and c7.verdict == "supported"
    c10 = depth_width.TABLES["C10"].decide(raw, "full")
    assert c10.values["transformer"] == raw["routes"]["transformer 2x28"]["flops"] and c10.verdict == "supported"


def untrained_runs(route, seeds=3, length=12):
    """Runs of a model straight from initialisation, with a perfect accuracy curve pinned on: only the control
    says what it is."""
    model = ladder.build(route, depth_width.GROUP, 0, max_len=8 * length + 8)
    control = train.positive_control(model, depth_width.held_out(length), depth_width.CHANCE)
    return [{"accuracy": np.ones(2 * length), "learned": control["learned"]} for _ in range(seeds)]


def test_an_untrained_transformer_cannot_move_c7_or_c10_off_inconclusive():
    raw = serial(depth_width.STUCK)
    for entry in raw["routes"].values():
        if entry["group"] != "gru":
            entry["runs"] = untrained_runs(ladder.Route("transformer", 1, 8, heads=2))
    assert not any(r["learned"] for e in raw["routes"].values() if e["group"] != "gru" for r in e["runs"])
    assert depth_width.TABLES["C10"].decide(raw, "full").verdict == "inconclusive"
    c7 = depth_width.TABLES["C7"].decide({"serial": raw, "storage": storage(0.0)}, "full")
    assert c7.verdict == "inconclusive" and c7.row == 1


def test_train_serial_records_a_positive_control():
    result = depth_width.train_serial(ladder.Route("gru", 1, 8), length=4, steps=10, seed=0, lr=1e-3)
    assert set(result["control"]) >= {"accuracy", "chance", "learned", "at"} and len(result["accuracy"]) == 8
    curve = result["curve"]
    assert [p["steps"] for p in curve] == list(range(1, 11)) and len(curve) == depth_width.PROBES
    assert curve[-1]["held_out"] == pytest.approx(result["control"]["accuracy"])
    assert all(a["train_flops"] < b["train_flops"] for a, b in zip(curve, curve[1:]))


def curve_run(kind, held_out, k_star, flops=1.0):
    """A run whose probes read ``held_out`` and ``k_star`` at training compute 1, 2, 3, ..."""
    curve = [{"train_flops": float(i + 1), "held_out": h, "k_star": k}
             for i, (h, k) in enumerate(zip(held_out, k_star))]
    return {"route": ladder.Route(kind, 1, 8), "curve": curve, "flops": flops}


def test_compute_to_solve_is_the_quickest_seed_to_learn_and_reach_the_target():
    early = curve_run("gru", [0.5, 0.96, 1.0], [2, 6, 6])
    late = curve_run("gru", [0.5, 0.9, 0.97], [2, 6, 6])
    short = curve_run("gru", [0.99, 0.99, 0.99], [2, 3, 5])  # learned, but never tracks 6
    assert depth_width.solved_at(early["curve"], 6) == 2.0 and depth_width.solved_at(short["curve"], 6) is None
    assert depth_width.compute_to_solve([late, early], 6) == 2.0
    assert depth_width.compute_to_solve([short, late], 6) == 3.0
    assert depth_width.compute_to_solve([short], 6) is None


def test_compute_table_and_sentence_say_what_was_not_reached_within_what():
    routes = {"GRU 1x32": [curve_run("gru", [0.5, 0.99, 1.0], [1, 6, 6], flops=100)],
              "transformer 1x40": [curve_run("transformer", [0.5, 0.6, 0.6], [1, 3, 3], flops=900)]}
    table = depth_width.compute_table(routes, 6)
    assert "| GRU 1x32 | 100 | 2 × 10⁰ |" in table and "quickest seed |" in table
    assert "| transformer 1x40 | 900 | not reached within 3 × 10⁰ |" in table
    assert depth_width.compute_sentence(routes, 6) == (
        "the cheapest GRU to learn the task and track 6 steps (GRU 1x32, its quickest seed) took 2 × 10⁰ training "
        "FLOPs; "
        "no transformer did within 3 × 10⁰ training FLOPs, the most one was given")


# --- the page's sentences -------------------------------------------------------------------------

def stat(mean, low, high):
    return {"mean": mean, "low": low, "high": high, "n": 3}


def test_steps_read_as_counts_when_exact():
    assert depth_width.steps_interval(stat(12.0, 12.0, 12.0)) == "12 steps in every seed"
    assert depth_width.steps_interval(stat(3.67, 1.2, 6.1)) == "4 steps (95% CI 1 to 6 over seeds)"
    assert depth_width.steps_interval(stat(3.67, 3.4, 3.9)) == "3.7 steps (95% CI 3.4 to 3.9 over seeds)"
    assert depth_width.signed_steps(stat(10.0, 10.0, 10.0)) == "+10 steps in every seed"
    assert depth_width.signed_steps(stat(3.7, 1.2, 6.2)) == "+4 steps (95% CI +1 to +6 over seeds)"
    assert depth_width.signed_steps(stat(-0.3, -0.8, 0.2)) == "-0.3 steps (95% CI -0.8 to +0.2 over seeds)"


def test_storage_problem_names_each_shape_and_why():
    shares = {"1x72": stat(0.3, 0.2, 0.4), "4x20": stat(0.01, -0.02, 0.04)}
    assert depth_width.storage_problem(shares) == ("the 4x20 shape stored nothing measurable (its 95% interval "
                                                   "reaches zero)")
    full = {"1x72": stat(0.95, 0.9, 1.0), "4x20": stat(0.3, 0.2, 0.4)}
    assert depth_width.storage_problem(full) == "the 1x72 shape filled 95% of the table"
    fine = {"1x72": stat(0.3, 0.2, 0.4), "4x20": stat(0.2, 0.1, 0.3)}
    assert depth_width.storage_problem(fine) is None
    for case in (shares, full, fine):   # says a problem exactly when the verdict's test does
        assert (depth_width.storage_problem(case) is None) == depth_width.storage_measured(list(case.values()))


def test_storage_sentence_branches():
    assert depth_width.storage_sentence(stat(0.1, -0.2, 0.3), "the 4x20 shape filled 95% of the table") == (
        "the storage comparison does not count, because the 4x20 shape filled 95% of the table")
    undecided = depth_width.storage_sentence(stat(0.0, -1.0, 1.0), None)
    assert undecided.startswith("whether the shallow-wide shape stores more per parameter") and "undecided" in undecided
    assert "-100% to +100%" in undecided
    decided = depth_width.storage_sentence(stat(0.05, -0.05, 0.15), None)
    assert decided.startswith("per parameter the shallow-wide shape stores +5") and "undecided" not in decided
    assert depth_width.storage_sentence(stat(0.4, 0.4, 0.4), None) == (
        "per parameter the shallow-wide shape stores 40% more than the deep-narrow one in every seed")
    assert depth_width.storage_sentence(stat(-0.66, -0.87, -0.45), None) == (
        "per parameter the shallow-wide shape stores 66% less than the deep-narrow one (95% CI 45% to 87% less, over "
        "seeds, paired by seed)")


def test_shapes_sentence_lists_every_shape():
    text = depth_width.shapes_sentence([1, 2, 4, 8], [72, 52, 36, 24],
                                       [stat(3.0, 3.0, 3.0), stat(3.67, 2, 5), stat(4.0, 3, 5), stat(2.0, 1, 3)])
    assert text == ("the transformer shapes of depth 1 (width 72), 2 (width 52), 4 (width 36) and 8 (width 24) "
                    "track 3, 3.7, 4 and 2 steps (means over seeds)")


@pytest.mark.parametrize("exposures, words", [(125.0, "not capacity"), (1000.0, "approach each shape's capacity")])
def test_capacity_follows_the_exposures(exposures, words):
    assert words in depth_width.capacity_clause(exposures)
    cell = depth_width.capacity_comparable(exposures)
    assert cell.startswith("no:" if exposures < depth_width.CAPACITY_EXPOSURES else "yes")
    limitation = depth_width.capacity_limitation(exposures)
    assert limitation.startswith(f"Each fact is seen about {exposures:,.0f} times")
    assert ("fewer than" in limitation) == (exposures < depth_width.CAPACITY_EXPOSURES)


def test_shortcut_clause_branches():
    assert "whole training length in every seed" in depth_width.shortcut_clause(12.0, 12, 1e5)
    assert depth_width.shortcut_clause(8.0, 12, 1e5).startswith("a transformer here learned the task and reached")
    assert depth_width.shortcut_clause(4.0, 12, math.inf) == ("no transformer here learned the task and reached the "
                                                              "target chain in any seed in this budget")


@pytest.mark.parametrize("transformer, recurrent, expected", [
    (math.inf, math.inf, "Neither a GRU nor a transformer tried learned the task and tracks 6 steps in any seed "
                         "(the transformers tried cost up to 1,000,000 FLOPs per token)."),
    (2e5, math.inf, "No GRU tried learned the task and tracks 6 steps in any seed; the cheapest transformer with a "
                    "seed that does costs 200,000 FLOPs per token."),
    (math.inf, 1e4, "The cheapest GRU with a seed that learned the task and tracks 6 steps costs 10,000 FLOPs per "
                    "token; no transformer tried did, up to 1,000,000, so its price is unknown."),
    (2e5, 1e4, "The cheapest GRU with a seed that learned the task and tracks 6 steps costs 10,000 FLOPs per "
               "token; the cheapest transformer with such a seed costs 200,000, 20.0 times as much."),
])
def test_cost_sentence_branches(transformer, recurrent, expected):
    text = depth_width.cost_sentence(transformer, recurrent, 1e6, 6)
    assert text == expected and "never" not in text and "inf" not in text


def test_learned_table_and_sentence():
    run = lambda acc: {"control": {"accuracy": acc}, "learned": acc >= 0.95}  # noqa: E731
    routes = {"GRU 1x64": [run(1.0), run(1.0)], "transformer 2x28": [run(0.96), run(0.8)],
              "transformer 1x40": [run(0.6), run(0.62)]}
    table = depth_width.learned_table(routes)
    assert "| GRU 1x64 | 100.0%, 100.0% | 2 of 2 |" in table
    assert "| transformer 2x28 | 96.0%, 80.0% | **1 of 2** |" in table and "| 60.0%, 62.0% | **0 of 2** |" in table
    assert depth_width.learned_sentence(routes) == (
        "Learned in every seed: GRU 1x64. In some seeds only: transformer 2x28; the rules read those seeds and leave "
        "out the others. In no seed (held-out accuracy under 95%), so no rule reads them: transformer 1x40.")


def test_storage_problem_groups_the_shapes_that_stored_nothing():
    shares = {"1x40": stat(0.01, -0.01, 0.03), "2x28": stat(0.01, -0.02, 0.04), "4x20": stat(0.95, 0.9, 1.0)}
    assert depth_width.storage_problem(shares) == ("the 1x40 and 2x28 shapes stored nothing measurable (their 95% "
                                                   "intervals reach zero) and the 4x20 shape filled 95% of the table")
    assert not depth_width.storage_measured(list(shares.values()))


def test_one_step_is_singular():
    assert depth_width.steps_interval(stat(1.0, 1.0, 1.0)) == "1 step in every seed"
    assert depth_width.steps_interval(stat(1.0, 0.2, 3.9)) == "1 step (95% CI 0 to 4 over seeds)"
    assert depth_width.signed_steps(stat(-1.0, -2.4, 0.4)) == "-1 step (95% CI -2 to +0 over seeds)"
    assert depth_width.signed_steps(stat(11.0, 11.0, 11.0)) == "+11 steps in every seed"


def test_table_clause_says_whether_a_shape_can_fill_the_table():
    assert depth_width.table_clause(65_536, 27_640).endswith("so no shape can fill it")
    assert "2.37 bits per parameter" in depth_width.table_clause(65_536, 27_640)
    assert "a shape may fill it" in depth_width.table_clause(12_288, 27_640)


def test_train_all_and_run_seeds_keep_route_by_route_seed_by_seed_order(monkeypatch):
    from deepenough.lab.ladder import Route

    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)   # in this process: a lambda cannot be sent to another
    monkeypatch.setattr(depth_width, "train_serial", lambda **job: job)
    a, b = Route("transformer", 1, 8), Route("gru", 1, 8)
    runs = depth_width.train_all([a, b], 4, [7, 8], lambda r: dict(steps=3 if r.kind == "gru" else 5, lr=1.0))
    assert [(r["route"], r["seed"], r["steps"]) for r in runs] == [(a, 7, 5), (a, 8, 5), (b, 7, 3), (b, 8, 3)]
    shapes = [depth_width.Shape(1, 8), depth_width.Shape(2, 6)]
    done = depth_width.run_seeds(lambda **job: (job["shape"], job["seed"], job["steps"]), shapes, [7, 8], steps=2)
    assert done == [(shapes[0], 7, 2), (shapes[0], 8, 2), (shapes[1], 7, 2), (shapes[1], 8, 2)]


def test_the_published_storage_spread_is_within_what_the_worlds_assume():
    """The power columns are honest only if the record's seeds agree at least as well as the storage worlds' do."""
    measured = records.read("depth_width")["results"]["measurements"]["storage_seed_sd"]["mean"]
    assert measured <= depth_width.STORAGE_SEED_SD, (measured, depth_width.STORAGE_SEED_SD)
