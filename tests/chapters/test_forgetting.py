"""Unit tests of the C8 machinery (deepenough.chapters.forgetting); no SmolLM2 needed."""
import math
import random

import numpy as np
import pytest
import torch
from torch import nn

from deepenough.chapters import forgetting
from deepenough.lab import tasks, train
from deepenough.machinery import power, rules


class NextTokenOracle(nn.Module):
    """Predicts the next token of its own input: perfect on copying, whose answers are the next tokens."""

    def forward(self, ids):
        nxt = torch.cat([ids[:, 1:], ids[:, :1]], 1)
        return 100.0 * nn.functional.one_hot(nxt, forgetting.VOCAB).float()


class Uniform(nn.Module):
    def forward(self, ids):
        return torch.zeros(*ids.shape, forgetting.VOCAB)


class CharTokenizer:
    def __call__(self, text, add_special_tokens=False):
        return {"input_ids": [ord(c) for c in text]}


def decode(ids):
    return "".join(chr(i) for i in ids)


# --- generators ---------------------------------------------------------------------------------------

def test_copy_generator_scores_exactly_the_second_half():
    ids, targets = tasks.copy(3, 5, forgetting.VOCAB)(torch.Generator().manual_seed(0))
    assert ids.shape == (3, 11) and (ids[:, 5] == 0).all() and (ids[:, :5] > 0).all()
    assert torch.equal(ids[:, :5], ids[:, 6:])
    scored = targets != train.IGNORE
    assert scored.sum(1).tolist() == [5, 5, 5] and scored[:, 5:10].all()
    assert torch.equal(targets[:, 5:10], ids[:, 6:11])  # each target is the next token


def test_associative_recall_generator_answers_each_query_with_its_value():
    pairs, queries, keys, values = 4, 6, 10, 7
    ids, targets = tasks.associative_recall(50, pairs, queries, keys, values)(torch.Generator().manual_seed(1))
    assert ids.shape == (50, 2 * (pairs + queries))
    for row, target in zip(ids.tolist(), targets.tolist()):
        ks, vs = row[:2 * pairs:2], row[1:2 * pairs:2]
        assert len(set(ks)) == pairs and all(k < keys for k in ks) and all(keys <= v < keys + values for v in vs)
        table = dict(zip(ks, vs))
        for i in range(2 * pairs, len(row), 2):
            assert row[i] in table and row[i + 1] == table[row[i]] == target[i]
            assert target[i + 1] == train.IGNORE
        assert all(t == train.IGNORE for t in target[:2 * pairs])
    asked = {tuple(r[2 * pairs::2]) for r in ids.tolist()}
    assert any(len(set(q)) < queries for q in asked)  # queries repeat: elimination does not help
    with pytest.raises(ValueError):
        tasks.associative_recall(1, 5, 1, 4, 2)


def test_mixed_copy_draws_several_sizes_reproducibly():
    make = forgetting.mixed_copy(2, [2, 5])
    lengths = {make(torch.Generator().manual_seed(s))[0].shape[1] for s in range(20)}
    assert lengths == {5, 11}
    a, b = (make(torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


# --- capacity arithmetic --------------------------------------------------------------------------------

def test_state_sizes_and_bits():
    assert forgetting.state_rnn(8, "gru").state_floats() == 8
    assert forgetting.state_rnn(8, "lstm").state_floats() == 16
    assert forgetting.state_bits(4) == 128
    assert forgetting.bits_to_remember(10) == pytest.approx(10 * math.log2(31))
    assert forgetting.transformer_cache_floats(31, d_model=64, depth=2) == 2 * 2 * 64 * 32
    out = forgetting.state_rnn(3, "lstm")(torch.zeros(2, 5, dtype=torch.long))
    assert out.shape == (2, 5, forgetting.VOCAB)


def test_fano_ceiling():
    assert forgetting.accuracy_ceiling(4, 1000) == 1.0  # room to spare
    assert forgetting.accuracy_ceiling(4, forgetting.bits_to_remember(4)) == 1.0  # exactly full
    assert forgetting.accuracy_ceiling(8, 0) == pytest.approx(1 / 31, abs=1e-6)  # nothing stored: chance
    ceilings = [forgetting.accuracy_ceiling(n, 64) for n in (8, 16, 32, 64)]
    assert ceilings == sorted(ceilings, reverse=True) and ceilings[-1] < 0.5
    # the ceiling depends only on bits per token: N = 16 with 64 bits equals N = 32 with 128 bits
    assert forgetting.accuracy_ceiling(16, 64) == pytest.approx(forgetting.accuracy_ceiling(32, 128))
    # at the ceiling, Fano's inequality holds with equality
    e = 1 - forgetting.accuracy_ceiling(32, 64)
    missing = math.log2(31) - 64 / 32
    assert forgetting.binary_entropy(e) + e * math.log2(30) == pytest.approx(missing, abs=1e-6)


def test_copy_controls_of_an_oracle_and_a_blank_model():
    perfect = forgetting.copy_controls(NextTokenOracle(), [2, 8], seed=0, batch=16)
    blank = forgetting.copy_controls(Uniform(), [2, 8], seed=0, batch=16)
    for n in (2, 8):
        assert perfect[n]["accuracy"] == 1.0 and perfect[n]["learned"] and perfect[n]["at"] == f"N = {n}"
        assert not blank[n]["learned"] and blank[n]["chance"] == pytest.approx(1 / 31)


def test_a_small_state_learns_one_token_quickly():
    model, log = forgetting.train_recall_model("gru", 0, [1], 150, width=16)
    assert log.loss[-1] < log.loss[0]
    assert forgetting.copy_controls(model, [1], seed=0)[1]["accuracy"] > 0.5


# --- planted facts ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("distractors", [0, 3])
def test_planted_prompt_spans_point_at_the_fact_and_answer(depth, distractors):
    prompt = forgetting.planted_prompt(CharTokenizer(), "Nadia", "4827", depth, 6, random.Random(0), distractors)
    text = decode(prompt["ids"][0].tolist())
    assert decode(prompt["ids"][0, slice(*prompt["fact"])].tolist()) == forgetting.fact_sentence("Nadia", "4827")
    assert decode(prompt["ids"][0, slice(*prompt["answer"])].tolist()) == " 4827"
    assert prompt["answer"][1] == prompt["ids"].shape[1]
    assert text.count("The secret number of") == 2 + distractors  # fact, distractors, the answer line
    assert text.count("Nadia") == 3  # the fact, the question and the answer line: no distractor uses the name


def test_deeper_facts_sit_closer_to_the_question():
    starts = [forgetting.planted_prompt(CharTokenizer(), "Kofi", "1111", d, 8, random.Random(1))["fact"][0]
              for d in (0.0, 0.5, 1.0)]
    assert starts[0] == len(forgetting.INSTRUCTION) and starts[0] < starts[1] < starts[2]


def test_cell_accuracy_and_attention_summaries():
    rows = [{"sentences": 8, "distractors": 2, "depth": 0.0, "correct": c, "fact_mass": [0.1, 0.4],
             "uniform_mass": 0.1} for c in (True, True, False, True)]
    cells = forgetting.cell_accuracy(rows)
    assert list(cells) == [(8, 2, 0.0)] and cells[(8, 2, 0.0)]["mean"] == 0.75 and cells[(8, 2, 0.0)]["n"] == 4
    assert forgetting.attention_by_layer(rows).tolist() == pytest.approx([1.0, 4.0])


# --- the decision tables: designs, bounds, power, learned before judged ----------------------------------------

def test_designs_derive_from_the_settings():
    for profile, settings in forgetting.SETTINGS.items():
        design = forgetting.TABLES["C8"].designs[profile]
        cells = len(settings["depths"]) * len(settings["sentences"])
        assert design["seeds"] == settings["seeds"]
        assert design["prompts_with"] == cells * settings["items"][forgetting.MOST_DISTRACTORS]
        assert design["prompts_without"] == cells * settings["items"][0]
        assert forgetting.control_n(design, "transformer") == min(forgetting.TF_LENGTHS)
        assert forgetting.control_n(design, forgetting.PROBE_KEY) == min(forgetting.RNN_LENGTHS)
        assert all(isinstance(v, int | str | float) for v in design.values())  # the results schema's design
        assert design["compare_n"] == max(forgetting.TF_LENGTHS) == max(forgetting.RNN_LENGTHS)
        assert forgetting.PROBE in settings["rnn_models"]
    assert forgetting.ARCHITECTURE.designs == forgetting.PRACTICE.designs == forgetting.TABLES["C8"].designs


def test_no_bound_decides_the_comparison_the_rule_reads():
    """At the compared N the probe's state could hold every token: Fano's ceiling is 1, so its fall is data."""
    floats = forgetting.state_rnn(forgetting.PROBE[1], forgetting.PROBE[0]).state_floats()
    assert forgetting.bits_to_remember(forgetting.COMPARE_N) < forgetting.state_bits(floats)
    assert forgetting.accuracy_ceiling(forgetting.COMPARE_N, forgetting.state_bits(floats)) == 1.0


@pytest.mark.slow  # simulates the decision table's power (seconds)
@pytest.mark.parametrize("table", [forgetting.ARCHITECTURE, forgetting.PRACTICE, forgetting.TABLES["C8"]],
                         ids=["architecture", "practice", "C8"])
def test_every_outcome_is_reached_from_simulated_raw_data_at_fulls_n(table):
    shares = table.power("full")
    assert set(shares) == set(rules.outcomes(table.rules))
    assert not power.unreachable(shares), shares


@pytest.mark.slow  # simulates the decision table's power (seconds)
def test_quick_cannot_decide_the_use_floor_and_the_page_says_so():
    shares = forgetting.TABLES["C8"].power_by_profile()
    assert "supported" in power.unreachable(shares["quick"])
    sentence = power.reach_sentence(shares)
    assert "Under quick, " in sentence and "cannot be relied on" in sentence
    assert "Under full, every outcome is reached" in sentence


def raw_from(transformer, recurrent, hits=(True,) * 30, misses=0):
    design = forgetting.DESIGNS["full"]
    copying = {"transformer": [forgetting.copy_controls(transformer(s), forgetting.TF_LENGTHS, s, batch=16)
                               for s in range(design["seeds"])],
               forgetting.PROBE_KEY: [forgetting.copy_controls(recurrent(s), forgetting.RNN_LENGTHS, s, batch=16)
                                      for s in range(design["seeds"])]}
    return {"copying": copying, "retrieval": {"without": list(hits), "with": list(hits) + [False] * misses}}


def untrained(arch, width=0):
    return lambda s: forgetting.build_model(arch, s, width)


def test_an_untrained_model_cannot_move_c8_off_inconclusive():
    gru = untrained(*forgetting.PROBE)
    cases = [raw_from(untrained("transformer"), gru),                 # nothing trained
             raw_from(lambda s: NextTokenOracle(), gru),              # a keeper against an untrained state
             raw_from(untrained("transformer"), lambda s: NextTokenOracle())]
    for raw in cases:
        ruling = forgetting.TABLES["C8"].decide(raw, "full")
        assert ruling.verdict == "inconclusive" and ruling.row == 0
        assert ruling.values["architecture_row"] == 0  # "fewer than 3 ... learned their control"


class ForgetsPastTwo(nn.Module):
    """Copies the first two tokens of the string and guesses 1 for the rest: learned to copy, loses long strings."""

    def forward(self, ids):
        out = NextTokenOracle()(ids)
        n = (ids.shape[1] - 1) // 2
        wrong = 100.0 * nn.functional.one_hot(torch.ones_like(ids), forgetting.VOCAB).float()
        out[:, n + 2:] = wrong[:, n + 2:]
        return out


@pytest.mark.parametrize("recurrent, misses, verdict", [
    (ForgetsPastTwo, 0, "supported"),      # the state loses what the cache keeps; retrieval perfect
    (ForgetsPastTwo, 60, "nuanced"),       # ... and SmolLM2 fails among distractors
    (NextTokenOracle, 0, "nuanced"),       # the state keeps what the cache keeps
])
def test_the_rule_returns_each_outcome_from_raw_measurements(recurrent, misses, verdict):
    raw = raw_from(lambda s: NextTokenOracle(), lambda s: recurrent(), hits=(True,) * 30, misses=misses)
    design = forgetting.DESIGNS["full"]
    ruling = forgetting.TABLES["C8"].decide(raw, "full", forgetting.c8_evidence(raw, design))
    assert ruling.verdict == verdict
    assert "learned their control" in ruling.reason and "without distractors" in ruling.reason


def test_worlds_draw_raw_measurements_at_the_designs_counts():
    design = forgetting.DESIGNS["full"]
    for world in forgetting.TABLES["C8"].worlds:
        raw = world.draw(np.random.default_rng(0), design)
        assert len(raw["copying"]["transformer"]) == len(raw["copying"][forgetting.PROBE_KEY]) == design["seeds"]
        for key, seeds in raw["copying"].items():
            assert set(seeds[0]) == {forgetting.control_n(design, key), design["compare_n"]}
        assert len(raw["retrieval"]["with"]) == design["prompts_with"]
        assert len(raw["retrieval"]["without"]) == design["prompts_without"]


def test_evidence_quotes_both_retrieval_numbers_and_the_learned_counts():
    values = forgetting.practice_values({"without": [True] * 100, "with": [True] * 79 + [False] * 21})
    text = forgetting.practice_evidence(values)
    assert "100% (95% CI" in text and "of 100 prompts without distractors" in text and "79% (95% CI 70%" in text
    arch = forgetting.architecture_evidence({"transformer": None, "recurrent": None, "transformer_learned": 2,
                                             "recurrent_learned": 5, "seeds": 5})
    assert arch == f"2 of 5 transformer seeds and 5 of 5 {forgetting.PROBE_KEY} seeds learned their control"


# --- prose built from the results: each branch ----------------------------------------------------------------

def ci(mean, half=0.02):
    return {"mean": mean, "low": max(0.0, mean - half), "high": min(1.0, mean + half), "n": 3}


def test_ceiling_gaps_and_sentence_branches():
    acc = {"GRU 2": {1: ci(1.0, 0), 32: ci(0.05)}, "GRU 16": {1: ci(1.0, 0), 32: ci(1.0, 0)}}
    gaps = forgetting.ceiling_gaps(acc, {"GRU 2": 2, "GRU 16": 16})
    assert [(k, n, f) for k, n, _, f in gaps] == [("GRU 2", 32, 2)]
    assert gaps[0][2] == pytest.approx(forgetting.accuracy_ceiling(32, 64) - 0.07)
    none = forgetting.ceiling_sentence([])
    assert none.startswith("No recurrent model falls short") and "1.00" not in none
    far = forgetting.ceiling_sentence([("GRU 16", 32, 0.6, 16), ("GRU 4", 32, 0.4, 4)])
    assert "at least 0.40 below" in far and "different numbers" in far
    roomy = forgetting.ceiling_sentence([("GRU 64", 4, 0.02, 64)])  # near a ceiling of 100%: no bound at work
    assert roomy.startswith("Wherever a recurrent model falls short") and "hard limit, which" not in roomy
    near = forgetting.ceiling_sentence([("GRU 16", 32, 0.6, 16), ("GRU 2", 128, 0.01, 2)])
    assert near.startswith("GRU 2 at N = 128 falls to within 0.01") and "a bound, not a finding" in near
    assert "within 0.00" in forgetting.ceiling_sentence([("GRU 2", 128, -0.01, 2)])


def test_bound_sentence_names_the_states_a_bound_caps():
    roomy = forgetting.bound_sentence({forgetting.PROBE_KEY: 64})
    assert "no bound stops it" in roomy and "Fano" not in roomy
    capped = forgetting.bound_sentence({"GRU 4": 4, forgetting.PROBE_KEY: 64})
    assert "For GRU 4 Fano's inequality caps" in capped and "no rule reads it" in capped


def test_learned_table_counts_seeds_per_model_and_n():
    good, bad = {"accuracy": 1.0, "learned": True}, {"accuracy": 0.5, "learned": False}
    text = forgetting.learned_table({"transformer": [{8: good, 32: good}] * 3, "GRU 64": [{2: good, 32: bad}] * 3})
    assert text.splitlines()[0] == "| model | N = 2 | N = 8 | N = 32 |"
    assert text.splitlines()[2] == "| transformer | – | 3 of 3 (100%) | 3 of 3 (100%) |"
    assert text.splitlines()[3] == "| GRU 64 | 3 of 3 (100%) | – | 0 of 3 (50%) |"


def test_retrieval_hits_split_the_prompts_by_distractors():
    rows = [{"distractors": 0, "correct": True}, {"distractors": forgetting.MOST_DISTRACTORS, "correct": False}]
    assert forgetting.retrieval_hits(rows) == {"without": [True], "with": [False]}


def test_profile_note_only_on_quick():
    assert forgetting.profile_note("full") == ""
    assert "full profile" in forgetting.profile_note("quick")


@pytest.mark.parametrize("architecture, start", [
    ("supported", "in direction"), ("nuanced", "no:"), ("inconclusive", "undecided")])
def test_replication_comparable_follows_the_architecture_verdict(architecture, start):
    assert forgetting.replication_comparable(architecture).startswith(start)


def test_recall_caption():
    text = forgetting.recall_caption(ci(0.99), ci(0.25), {"GRU 8": 8, forgetting.PROBE_KEY: 64})
    assert text.startswith(f"At N = 32, the longest string every model trained on, the transformer copies 99% of "
                           f"the tokens and {forgetting.PROBE_KEY} 25%")
    assert "smallest state, GRU 8, is 100% there" in text


def test_retrieval_caption_branches():
    perfect = {(8, 0, d): ci(1.0, 0) for d in (0.0, 0.5, 1.0)}
    text = forgetting.retrieval_caption(perfect, ci(1.0, 0), ci(1.0, 0), 21, 3.09)
    assert text.startswith("Every one of the 3 cells retrieved every planted fact") and "100% to 100%" not in text
    assert text.endswith("layer 21 looks at the fact most, 3.1 times a uniform share.")
    mixed = {**perfect, (8, 6, 0.5): ci(0.67)}
    text = forgetting.retrieval_caption(mixed, ci(1.0, 0), ci(0.89), 21, 3.09)
    assert text.startswith("Exact retrieval ranges from 67% to 100% across cells (100% without distractors, 89% "
                           "with 6 distractors)")


# --- multi-query associative recall: evidence beside copying ------------------------------------------------

class RecallOracle(nn.Module):
    """Answers every MQAR query from the pairs it has read: perfect recall, whatever the number of pairs."""

    def forward(self, ids):
        vocab = forgetting.MQAR_KEYS + forgetting.MQAR_VALUES
        out = torch.zeros(*ids.shape, vocab)
        for b, row in enumerate(ids.tolist()):
            table = {}
            for i in range(0, len(row) - 1, 2):
                table.setdefault(row[i], row[i + 1])
                out[b, i, table[row[i]]] = 100.0
        return out


def test_mqar_bits_and_mixed_batches():
    assert forgetting.mqar_bits(8) == pytest.approx(8 * math.log2(forgetting.MQAR_VALUES))
    make = forgetting.mixed_recall(2, [2, 5])
    lengths = {make(torch.Generator().manual_seed(s))[0].shape[1] for s in range(20)}
    assert lengths == {2 * (2 + forgetting.MQAR_QUERIES), 2 * (5 + forgetting.MQAR_QUERIES)}
    ids = make(torch.Generator().manual_seed(0))[0]
    assert ids.max() < forgetting.MQAR_KEYS + forgetting.MQAR_VALUES


def test_mqar_curve_and_control_of_an_oracle():
    curve = forgetting.mqar_curve(RecallOracle(), [2, 8], seed=0, batch=8)
    assert all(curve[p]["accuracy"] == 1.0 and curve[p]["per_sequence"] == [1.0] * 8 for p in (2, 8))
    control = forgetting.mqar_control(RecallOracle(), 4, seed=0, batch=8)
    assert control["learned"] and control["at"] == "4 pairs" and control["chance"] == 1 / forgetting.MQAR_VALUES


def test_mqar_models_train_and_stop_early():
    model, log = forgetting.train_mqar_model("gru", 0, [2], 30, width=8)
    assert log.steps[-1] == 29 and isinstance(model, forgetting.tiny.RecurrentLM) and model.state_floats() == 8
    model, log = forgetting.train_mqar_model("transformer", 0, [2], 5)
    assert len(log.loss) >= 1 and forgetting.mqar_curve(model, [2], seed=0, batch=4)[2]["accuracy"] >= 0


RNN_AT = {"GRU 2": ci(0.2), "GRU 64": ci(0.4)}
STATE = {"GRU 2": 2, "GRU 64": 64}


def test_mqar_transformer_sentence_branches():
    none = forgetting.mqar_transformer_sentence([False, False], 300, 16, None, ci(0.2))
    assert none.startswith("None of the 2 transformer seeds learned MQAR within 300 steps") and "chance is 6%" in none
    every = forgetting.mqar_transformer_sentence([True, True, True], 2000, 16, 0.995, ci(0.99))
    assert every == ("Every one of the 3 transformer seeds learned MQAR within 2,000 steps, recalling 100% of the "
                     "answers at 16 pairs.")
    some = forgetting.mqar_transformer_sentence([True, False, True], 2000, 16, 0.99, ci(0.7, 0.3))
    assert some.startswith("2 of 3 transformer seeds learned") and "the others stayed on the plateau" in some
    assert "over seeds" in some


def test_mqar_recurrent_sentence_branches():
    undecided = forgetting.mqar_recurrent_sentence(RNN_AT, STATE, 16, transformer_learned=False)
    assert undecided.startswith("At 16 pairs (64 bits to remember) GRU 2 (at most 64 bits of state; the values are "
                                "1 times that) recalls 20%; GRU 64")
    assert undecided.endswith("does not compare the two.")
    roomy = forgetting.mqar_recurrent_sentence(RNN_AT, STATE, 16, transformer_learned=True)
    assert "as in copying" in roomy and "GRU 64 falls short although its state could hold every value" in roomy
    full = forgetting.mqar_recurrent_sentence({"GRU 2": ci(0.2)}, STATE, 32, transformer_learned=True)
    assert full.endswith("Every one of them is past its state's hard capacity there.")
    kept = forgetting.mqar_recurrent_sentence({**RNN_AT, "GRU 64": ci(0.97)}, STATE, 16, transformer_learned=True)
    assert kept.endswith("keeps up with attention here, unlike in copying.")


def test_mqar_caption_limitation_and_replication_cells():
    caption = forgetting.mqar_caption([True, False], 16, ci(0.6), RNN_AT)
    assert caption == ("1 of 2 transformer seeds learned; at 16 pairs the transformer recalls 60% over all seeds and "
                       "the best recurrent model, GRU 64, 40%.")
    every = forgetting.mqar_limitation([True, True], 900)
    assert every.startswith("Here every one of 2 seeds learned within 900 steps.")
    none = forgetting.mqar_limitation([False, False, False], 50)
    assert none.startswith("Here none of 3 seeds learned within 50 steps") and "cannot compare" in none
    partial = forgetting.mqar_limitation([True, False, False], 900)
    assert partial.startswith("Here 1 of 3 seeds learned") and "does not enter the decision table" in partial
    assert forgetting.arora_ours([True, False], 16, ci(0.6), RNN_AT) == (
        "1 of 2 transformer seeds learned; at 16 pairs transformer 60%, GRU 64 40%")
    assert forgetting.arora_comparable([False, False], RNN_AT).startswith("not here")
    assert forgetting.arora_comparable([True], RNN_AT).startswith("shape only: attention solves MQAR")
    assert forgetting.arora_comparable([True], {"GRU 64": ci(0.97)}).startswith("shape only, and not in direction")


def test_mqar_beyond_sentence_branches():
    falls = forgetting.mqar_beyond_sentence(16, ci(0.4), {"GRU 1": ci(0.1)}, {"GRU 1": 1})
    assert falls.startswith("At 16 pairs, more than any model was trained on (64 bits to remember), the transformer "
                            "recalls 40% and GRU 1 10% (2 times what its state holds)")
    assert "not memory alone" in falls
    carries = forgetting.mqar_beyond_sentence(16, ci(0.97), {"GRU 1": ci(0.1), "GRU 64": ci(0.2)},
                                              {"GRU 1": 1, "GRU 64": 64})
    assert carries.endswith("carries over to more pairs than it was trained on.")
    assert "GRU 64 20% (0.03 times" in carries
