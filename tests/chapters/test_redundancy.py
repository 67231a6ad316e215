"""Unit tests for deepenough/chapters/redundancy.py on constructed data (no SmolLM2 load): the sentences and
their split, the probes, the erasure, the intervals, and every outcome of C11 and C12 reached at full."""
import numpy as np
import pytest

from deepenough.chapters import redundancy
from deepenough.machinery.power import unreachable
from deepenough.machinery.rules import outcomes


def test_sentences_split_frames_and_topics_between_halves():
    items = redundancy.sentences(redundancy.SETTINGS["full"]["frames"], seed=0)
    assert len(items) == 2 * redundancy.SETTINGS["full"]["frames"] * 3 * redundancy.TOPICS_PER_CLASS
    for kind in ("political", "sports", "everyday"):
        topics = [{s.text for s in items if s.half == h and s.kind == kind} for h in (0, 1)]
        assert topics[0] and topics[1] and not topics[0] & topics[1]
    assert not {s.frame for s in items if s.half == 0} & {s.frame for s in items if s.half == 1}
    assert all(s.text[s.topic_end:].split() for s in items), "every topic is followed by more words"
    per_frame = {}
    for s in items:
        per_frame[s.frame] = per_frame.get(s.frame, 0) + 1
    assert set(per_frame.values()) == {3 * redundancy.TOPICS_PER_CLASS}


def test_quick_draws_its_frames_by_seed():
    a, b = (redundancy.sentences(redundancy.SETTINGS["quick"]["frames"], seed) for seed in (0, 1))
    assert {s.frame for s in a} != {s.frame for s in b}
    assert [s.text for s in a] == [s.text for s in redundancy.sentences(redundancy.SETTINGS["quick"]["frames"], 0)]


def separable(rng, n=80, d=20, signal=5.0):
    y = np.r_[np.ones(n // 2), np.zeros(n // 2)]
    x = rng.normal(size=(n, d))
    x[:, 0] += signal * (2 * y - 1)
    return x, y


def test_a_probe_reads_a_separable_feature_and_not_shuffled_labels():
    rng = np.random.default_rng(0)
    x, y = separable(rng)
    train = np.arange(len(y)) % 2 == 0
    assert redundancy.held_out_hits(x, y, train, ~train).mean() > 0.9
    assert redundancy.held_out_hits(x, rng.permutation(y), train, ~train).mean() < 0.75


def test_nullspace_projection_erases_the_feature_and_a_random_subspace_does_not():
    rng = np.random.default_rng(1)
    x, y = separable(rng, n=200, d=30)
    train = np.arange(len(y)) % 2 == 0
    projection = redundancy.nullspace_projection(x[train], y[train], rank=5)
    assert np.allclose(projection @ projection, projection, atol=1e-8), "a projection"
    assert redundancy.held_out_hits(x @ projection, y, train, ~train).mean() < 0.65
    control = redundancy.random_projection(30, 5, seed=0)
    assert redundancy.held_out_hits(x @ control, y, train, ~train).mean() > 0.85


def test_first_decodable_is_the_first_index_that_reaches_the_line_on_the_training_rows():
    rng = np.random.default_rng(2)
    noise, y = separable(rng, signal=0.0)
    signal, _ = separable(np.random.default_rng(2), signal=4.0)
    frame = np.arange(len(y)) // 4
    stack = np.stack([noise, noise, signal, signal])
    assert redundancy.first_decodable(stack, y, frame, np.ones(len(y), bool)) == 2


def test_ratio_interval_covers_the_ratio_and_stays_a_share():
    num, den = np.array([0.2, 0.25, 0.3, 0.2, 0.25]), np.full(5, 0.45)
    ci = redundancy.ratio_ci(num, den)
    assert ci["mean"] == pytest.approx(num.sum() / den.sum()) and ci["low"] < ci["mean"] < ci["high"]
    assert redundancy.ratio_ci(den * 1.1, den)["high"] == 1.0


def test_inconsistency_counts_topic_hits_the_last_position_misses():
    topic = np.array([[1, 1], [1, 0], [1, 1]], float)
    last = np.array([[0, 1], [1, 1], [1, 0]], float)
    missed, right = redundancy.inconsistency(topic, last, first=1)
    assert list(missed) == [0, 1] and list(right) == [2, 1]


@pytest.mark.slow  # simulates the decision table's power (seconds)
@pytest.mark.parametrize("claim", ["C11", "C12"])
def test_every_outcome_is_reached_under_full_in_its_own_world(claim):
    table = redundancy.TABLES[claim]
    assert set(outcomes(table.rules)) >= {"supported", "refuted", "inconclusive"}
    assert unreachable(table.power("full")) == [], table.power("full")


def test_c11_reads_each_row_from_raw_hits():
    rng = np.random.default_rng(3)
    draw = lambda retained, **kw: redundancy.c11_world(retained, **kw)(rng, {"frames": 48})  # noqa: E731
    table = redundancy.TABLES["C11"]
    assert table.decide(draw(0.95), "full").verdict == "supported"
    assert table.decide(draw(0.02), "full").verdict == "refuted"
    assert table.decide(draw(0.5), "full").verdict == "nuanced"
    ruling = table.decide(draw(0.95, at_erasure=0.85), "full")
    assert ruling.verdict == "inconclusive" and ruling.row == 1, "an erasure that did not work decides nothing"
    assert table.decide(draw(0.95, clean=0.6), "full").row == 0


def test_c12_reads_each_row_from_raw_hits():
    rng = np.random.default_rng(4)
    table = redundancy.TABLES["C12"]
    assert table.decide(redundancy.c12_world(0.2)(rng, {"frames": 48}), "full").verdict == "supported"
    assert table.decide(redundancy.c12_world(0.005)(rng, {"frames": 48}), "full").verdict == "refuted"
    assert table.decide(redundancy.c12_world(0.2, source=0.6)(rng, {"frames": 48}), "full").row == 0


def test_per_frame_gathers_both_features_of_a_frame_into_one_row():
    folds = [{"frame": np.array([1, 1, 2, 2]), "v": np.array([1, 0, 1, 1])},
             {"frame": np.array([2, 1, 2, 1]), "v": np.array([0, 0, 1, 1])}]
    cells = redundancy.per_frame(folds, lambda f: f["v"])
    assert cells.shape == (2, 4) and list(cells.mean(1)) == [0.5, 0.75]
