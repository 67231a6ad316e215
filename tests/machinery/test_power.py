"""Power at the run's own n, verdicts only from tables, confirmation at fresh seeds, bounded intervals."""
import numpy as np
import pytest

from deepenough.lab import stats
from deepenough.machinery import results, seeds
from deepenough.machinery.power import POWER_MIN, Table, World, power, reach_sentence, unreachable
from deepenough.machinery.rules import Rule, always, decide, table_markdown

# A toy claim: "the coin is fair". Raw data: flips per seed; the rule reads a Wilson interval over seeds' flips.
RULES = (Rule("refuted", "the share of heads is outside 0.4 to 0.6", lambda v: v["high"] < 0.4 or v["low"] > 0.6),
         Rule("supported", "the share of heads lies within 0.4 to 0.6", lambda v: v["low"] >= 0.4 and v["high"] <= 0.6),
         Rule("inconclusive", "the interval reaches past 0.4 or 0.6", always))


def summarise(flips, design):
    return stats.proportion_ci(int(np.sum(flips)), int(np.size(flips)))


def coin(p):
    return lambda rng, design: rng.random(design["flips"]) < p


TABLE = Table("C1", RULES, summarise,
              (World("refuted", "a coin with 80% heads", coin(0.8)),
               World("supported", "a fair coin", coin(0.5)),
               World("inconclusive", "a coin at 60% heads, on the line", coin(0.6))),
              designs={"quick": {"flips": 20}, "full": {"flips": 2000}})


def test_power_is_the_share_of_draws_reaching_each_outcome_in_its_world():
    quick, full = TABLE.power("quick"), TABLE.power("full")
    assert list(full) == ["refuted", "supported", "inconclusive"]
    assert full["supported"] >= POWER_MIN and full["refuted"] >= POWER_MIN
    assert quick["supported"] < POWER_MIN, "20 flips cannot pin a fair coin inside 0.4 to 0.6"
    assert "supported" in unreachable(quick) and "supported" not in unreachable(full)


def test_a_table_without_a_world_for_an_outcome_is_refused():
    partial = Table("C1", RULES, summarise, TABLE.worlds[:2], designs=TABLE.designs)
    with pytest.raises(ValueError, match="no world in which inconclusive"):
        power(partial, TABLE.designs["full"])


def test_the_rendered_table_carries_a_power_column_per_profile_and_marks_the_row_that_fired():
    ruling = TABLE.decide(np.ones(50, bool), "full")
    text = table_markdown(RULES, ruling, TABLE.power_by_profile())
    assert "power, quick" in text and "power, full" in text
    assert text.splitlines()[2].startswith("| ▶ | **refuted**")


def run_at(profile, seed, tmp_path):
    return results.ChapterRun("kv_cache", profile, seed, tmp_path)


def test_a_verdict_edited_after_decide_is_refused(tmp_path):
    run = run_at("quick", 0, tmp_path)
    ruling = TABLE.decide(np.ones(50, bool), "quick")
    assert run.verdict(TABLE, ruling)["power"] == TABLE.power("quick")
    with pytest.raises(ValueError, match="the table decides 'refuted'"):
        run.verdict(TABLE, ruling._replace(verdict="supported"))
    with pytest.raises(ValueError, match="carries no values"):
        run.verdict(TABLE, results.Ruling("supported", "written by hand, not decided", ruling.rule))


def test_a_record_confirms_only_at_fresh_seeds_and_publishes_a_disagreement_as_inconclusive(tmp_path):
    assert not run_at("full", 0, tmp_path).confirming and not run_at("quick", seeds.RECORD, tmp_path).confirming
    assert run_at("full", seeds.RECORD, tmp_path).confirming
    v = run_at("full", seeds.RECORD, tmp_path).verdict(TABLE, TABLE.decide(np.ones(50, bool), "full"))
    assert results.confirm(v, {"C1": "refuted"})["confirmation"]["state"] == "confirmed"
    moved = results.confirm(v, {"C1": "supported"})
    assert moved["verdict"] == "inconclusive" and moved["decided"] == "refuted"
    assert "development read supported" in moved["reason"] and "this run reads refuted" in moved["reason"]


def test_record_seeds_are_disjoint_from_every_development_seed():
    assert all(seeds.is_development(s) for s in seeds.development())
    assert not any(seeds.is_development(seeds.RECORD + i) for i in range(seeds.SPAN))
    assert set(seeds.STABILITY) <= set(seeds.DEVELOPMENT_BASES)


def test_a_bounded_measurement_cannot_leave_its_bounds():
    with pytest.raises(ValueError, match="runs past"):
        results.measurement({"mean": 0.99, "low": 0.95, "high": 1.03, "n": 5}, "share", "carried share", "seeds")
    assert results.measurement(stats.mean_ci([0.97, 0.99, 1.0], bounds=(0, 1)), "share", "s", "seeds")["high"] <= 1


def test_the_cluster_bootstrap_counts_clusters_and_widens_for_correlated_units():
    rng = np.random.default_rng(0)
    cluster_means = rng.normal(0, 1, 10)
    values = np.repeat(cluster_means, 50) + rng.normal(0, 0.1, 500)
    clusters = np.repeat(np.arange(10), 50)
    clustered = stats.cluster_bootstrap_ci(values, clusters)
    naive = stats.bootstrap_ci(values)
    assert clustered["n"] == 10 and naive["n"] == 500
    assert clustered["high"] - clustered["low"] > 3 * (naive["high"] - naive["low"])


def test_the_positive_control_reads_accuracy_against_the_threshold():
    import torch

    from deepenough.lab import tiny
    from deepenough.lab.train import positive_control

    torch.manual_seed(0)
    model = tiny.llama(vocab=8, d_model=16, depth=1, heads=2, max_len=8)
    ids, targets = torch.randint(0, 8, (16, 8)), torch.randint(0, 8, (16, 8))
    control = positive_control(model, (ids, targets), chance=1 / 8, at="length 8")
    assert control["learned"] is False and 0 <= control["accuracy"] <= 1 and control["chance"] == 0.125


def test_decide_keeps_the_values_and_row_it_read():
    ruling = decide(RULES, {"low": 0.45, "high": 0.55})
    assert ruling.values == {"low": 0.45, "high": 0.55} and ruling.row == 1


def test_reach_sentence_names_what_each_profile_cannot_reach():
    text = reach_sentence({"quick": {"supported": 0.9, "refuted": 0.5, "nuanced": 0.3},
                                 "full": {"supported": 1.0, "refuted": 0.85}})
    assert text == ("Under quick, refuted and nuanced are reached less than 80% of the time even in their own world "
                    "(lowest 30%), so such a run cannot be relied on to find them. Under full, every outcome is "
                    "reached at least 80% of the time in its own world.")
    assert "`" not in text  # glued as text: a backtick would show on the page
    assert reach_sentence({"quick": {"refuted": 0.1}}).startswith("Under quick, refuted is reached less")
