"""Unit tests of the C8 machinery (deepenough.chapters.forgetting); no SmolLM2 needed."""
import math
import random

import pytest
import torch
from torch import nn

from deepenough.chapters import forgetting
from deepenough.lab import tasks, train
from deepenough.machinery import rules


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
    assert forgetting.StateRNN(8, "gru").state_floats() == 8
    assert forgetting.StateRNN(8, "lstm").state_floats() == 16
    assert forgetting.state_bits(4) == 128
    assert forgetting.bits_to_remember(10) == pytest.approx(10 * math.log2(31))
    assert forgetting.transformer_cache_floats(31, d_model=64, depth=2) == 2 * 2 * 64 * 32
    out = forgetting.StateRNN(3, "lstm")(torch.zeros(2, 5, dtype=torch.long))
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


def test_bits_recalled_bounds():
    assert forgetting.bits_recalled(8, 0.0) == pytest.approx(8 * forgetting.BITS_PER_TOKEN)
    assert forgetting.bits_recalled(8, forgetting.BITS_PER_TOKEN + 1) == 0.0
    assert forgetting.capacity_items(10 * forgetting.BITS_PER_TOKEN) == pytest.approx(10)


def test_oracle_recalls_everything_and_uniform_nothing():
    perfect = forgetting.recall_curve(NextTokenOracle(), [2, 8], seed=0, batch=16)
    blank = forgetting.recall_curve(Uniform(), [2, 8], seed=0, batch=16)
    for n in (2, 8):
        assert perfect[n]["accuracy"] == 1.0 and perfect[n]["per_sequence"] == [1.0] * 16
        assert perfect[n]["bits"] == pytest.approx(n * forgetting.BITS_PER_TOKEN, rel=1e-3)
        assert blank[n]["bits"] == 0.0  # log2(32) bits of cross-entropy > log2(31) bits per token
    ids, targets = forgetting.mixed_copy(4, [2])(torch.Generator().manual_seed(0))
    assert forgetting.answer_cross_entropy_bits(Uniform(), (ids, targets)) == pytest.approx(math.log2(forgetting.VOCAB))


def test_a_small_state_learns_one_token_quickly():
    model, log = forgetting.train_recall_model("gru", 0, [1], 150, width=16)
    assert log.loss[-1] < log.loss[0]
    assert forgetting.recall_curve(model, [1], seed=0)[1]["accuracy"] > 0.5


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


# --- verdicts: every outcome reachable ---------------------------------------------------------------------

def ci(mean, half=0.02):
    return {"mean": mean, "low": max(0.0, mean - half), "high": min(1.0, mean + half), "n": 3}


FORGETS = dict(tf_small=ci(1.0, 0), tf_large=ci(0.99), rnn_small=ci(0.98), rnn_large=ci(0.1))


@pytest.mark.parametrize("change, expected", [
    ({}, "supported"),
    ({"tf_small": ci(0.5)}, "inconclusive"),                    # the transformer never learned
    ({"rnn_small": ci(0.3)}, "inconclusive"),                   # the recurrent model never learned to store
    ({"tf_large": ci(0.5)}, "refuted"),                         # the transformer loses what it holds
    ({"tf_large": ci(0.95, 0.1)}, "inconclusive"),              # interval straddles the bar
    ({"rnn_large": ci(0.95)}, "inconclusive"),                  # the recurrent model did not fall (yet)
])
def test_every_architecture_outcome_is_reachable(change, expected):
    ruling = forgetting.architecture_verdict(**{**FORGETS, **change})
    assert ruling.verdict == expected and ruling.rule == rules.digest(forgetting.C8_ARCHITECTURE_RULES)
    assert set(rules.outcomes(forgetting.C8_ARCHITECTURE_RULES)) == {"supported", "refuted", "inconclusive"}


@pytest.mark.parametrize("with_distractors, expected", [
    (ci(0.97), "supported"), (ci(0.3, 0.2), "refuted"), (ci(0.8, 0.2), "inconclusive")])
def test_every_practice_outcome_is_reachable(with_distractors, expected):
    assert forgetting.practice_verdict(with_distractors).verdict == expected
    assert set(rules.outcomes(forgetting.C8_PRACTICE_RULES)) == {"supported", "refuted", "inconclusive"}


@pytest.mark.parametrize("architecture, practice, expected", [
    ("supported", "supported", "supported"), ("supported", "refuted", "nuanced"),
    ("supported", "inconclusive", "supported"), ("refuted", "supported", "refuted"),
    ("inconclusive", "refuted", "inconclusive")])
def test_every_combined_outcome_is_reachable(architecture, practice, expected):
    ruling = forgetting.c8_verdict(rules.Ruling(architecture, "a"), rules.Ruling(practice, "b"))
    assert ruling.verdict == expected
    assert architecture in ruling.reason and practice in ruling.reason
    assert set(rules.outcomes(forgetting.C8_RULES)) == {"supported", "nuanced", "refuted", "inconclusive"}


# --- prose built from the results: each branch ----------------------------------------------------------------

def test_ceiling_gaps_and_sentence_branches():
    acc = {"GRU 2": {1: ci(1.0, 0), 32: ci(0.05)}, "GRU 16": {1: ci(1.0, 0), 32: ci(1.0, 0)}}
    gaps = forgetting.ceiling_gaps(acc, {"GRU 2": 2, "GRU 16": 16})
    assert [(k, n) for k, n, _ in gaps] == [("GRU 2", 32)]
    assert gaps[0][2] == pytest.approx(forgetting.accuracy_ceiling(32, 64) - 0.07)
    none = forgetting.ceiling_sentence([])
    assert none.startswith("No recurrent model falls short") and "1.00" not in none
    far = forgetting.ceiling_sentence([("GRU 16", 32, 0.6), ("GRU 4", 32, 0.4)])
    assert "at least 0.40 below" in far and "different numbers" in far
    near = forgetting.ceiling_sentence([("GRU 16", 32, 0.6), ("GRU 2", 128, 0.01)])
    assert near.startswith("GRU 2 at N = 128 falls to within 0.01") and "hard limit" in near
    assert "within 0.00" in forgetting.ceiling_sentence([("GRU 2", 128, -0.01)])


def test_probe_phrase_and_sentence_say_whether_anything_solved():
    assert forgetting.probe_phrase("GRU 16", ["GRU 16"]) == "GRU 16, the smallest state that solved one token"
    assert "no recurrent model solved" in forgetting.probe_phrase("GRU 64", [])
    some = forgetting.probe_sentence("GRU 16", ["GRU 16", "LSTM 8"], 3, 16)
    assert some.startswith("2 of 3 recurrent models solved")
    assert some.endswith("smallest state that did, GRU 16 (16 floats, at most 512 bits).")
    none = forgetting.probe_sentence("GRU 64", [], 3, 64)
    assert none.startswith("None of 3 recurrent models") and "largest state, GRU 64 (64 floats, at most 2,048" in none
    assert "inconclusive" in none


def test_capacity_limitation_branches():
    ratios = {"GRU 2": 2.5, "GRU 16": 0.3, "LSTM 8": 0.3}
    none = forgetting.capacity_limitation(ratios, ["GRU 16"], 32, [("GRU 16", 32, 0.4)])
    assert none.startswith("No recurrent model that solved one token is pushed past 32 bits")
    assert "ours fall before even the hard ceiling" in none
    one = forgetting.capacity_limitation(ratios, ["GRU 2", "GRU 16"], 32, [("GRU 2", 32, 0.02)])
    assert one.startswith("GRU 2 solved one token and is pushed past 32 bits per float by N = 32 (GRU 2 to 2.5")
    assert "GRU 16 and LSTM 8 stay under that line" in one and "reaches Fano's ceiling" in one
    both = forgetting.capacity_limitation({"GRU 2": 5.0, "GRU 4": 2.5}, ["GRU 2", "GRU 4"], 64, [])
    assert both.startswith("GRU 2 and GRU 4 solved one token and are pushed") and "stay" not in both
    assert "Collins" not in both
    assert " stays under" in forgetting.capacity_limitation({"GRU 2": 2.0, "GRU 8": 0.5}, ["GRU 2"], 32, [])


def test_profile_note_only_on_quick():
    assert forgetting.profile_note("full") == ""
    assert "full profile" in forgetting.profile_note("quick")


@pytest.mark.parametrize("architecture, start", [
    ("supported", "in direction"), ("refuted", "no:"), ("inconclusive", "undecided")])
def test_replication_comparable_follows_the_architecture_verdict(architecture, start):
    assert forgetting.replication_comparable(architecture).startswith(start)


def test_recall_caption():
    text = forgetting.recall_caption(ci(0.99), 32, "GRU 16", ["GRU 16"], ci(0.09), 32, 0.31, 1.0)
    assert text == ("At N = 32 the transformer copies 99% of the tokens; GRU 16, the smallest state that solved one "
                    "token, copies 9% at N = 32, where the bits to remember are 0.31 times its state's float32 "
                    "capacity (Fano ceiling 100%).")


def test_retrieval_caption_branches():
    perfect = {(8, 0, d): ci(1.0, 0) for d in (0.0, 0.5, 1.0)}
    text = forgetting.retrieval_caption(perfect, ci(1.0, 0), ci(1.0, 0), 6, 21, 3.09)
    assert text.startswith("Every one of the 3 cells retrieved every planted fact") and "100% to 100%" not in text
    assert text.endswith("layer 21 looks at the fact most, 3.1 times a uniform share.")
    mixed = {**perfect, (8, 6, 0.5): ci(0.67)}
    text = forgetting.retrieval_caption(mixed, ci(1.0, 0), ci(0.89), 1, 21, 3.09)
    assert text.startswith("Exact retrieval ranges from 67% to 100% across cells (100% without distractors, 89% "
                           "with 1 distractor)")


def test_evidence_sentences_use_the_books_numbers():
    arch = forgetting.architecture_evidence(ci(1.0, 0), 8, ci(0.99, 0.04), 32, "GRU 16", ci(1.0, 0), ci(0.09, 0.005),
                                            32, 0.3096)
    assert "99% (95% CI" in arch and "over seeds" in arch and "0.31 times" in arch and "[" not in arch
    practice = forgetting.practice_evidence({"mean": 0.89, "low": 0.75, "high": 0.96, "n": 36}, 6, (8, 6, 0.5),
                                            {"mean": 4 / 6, "low": 0.3, "high": 0.9, "n": 6})
    assert "with 6 distractors" in practice and "of 36 prompts" in practice and "4 of 6" in practice


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


def test_mqar_curve_of_an_oracle_and_the_learned_count():
    curve = forgetting.mqar_curve(RecallOracle(), [2, 8], seed=0, batch=8)
    assert all(curve[p]["accuracy"] == 1.0 and curve[p]["per_sequence"] == [1.0] * 8 for p in (2, 8))
    blank = {p: {"accuracy": 1 / forgetting.MQAR_VALUES} for p in (2, 8)}
    assert forgetting.mqar_learned([curve, blank, curve], 8) == [True, False, True]


def test_mqar_models_train_and_stop_early():
    model, log = forgetting.train_mqar_model("gru", 0, [2], 30, width=8)
    assert log.steps[-1] == 29 and isinstance(model, forgetting.StateRNN) and model.state_floats() == 8
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
