"""Unit tests of the C8 machinery (deepenough.recall); no SmolLM2 needed."""
import math
import random

import pytest
import torch
from torch import nn

from deepenough.chapters import forgetting
from deepenough.lab import tiny


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


@pytest.mark.parametrize("width,depth", [(16, 1), (103, 2), (40, 3)])
def test_gru_parameter_formula_matches_the_model(width, depth):
    model = tiny.RecurrentLM(forgetting.VOCAB, width, depth=depth)
    assert forgetting.gru_params(width, depth) == tiny.count_params(model)


def test_gru_is_matched_to_the_transformer_within_two_percent():
    transformer, gru = forgetting.build_model("transformer", 0), forgetting.build_model("gru", 0)
    assert isinstance(gru, tiny.RecurrentLM)
    assert abs(tiny.count_params(gru) / tiny.count_params(transformer) - 1) < 0.02


def test_bits_recalled_bounds():
    assert forgetting.bits_recalled(8, 0.0) == pytest.approx(8 * forgetting.BITS_PER_TOKEN)
    assert forgetting.bits_recalled(8, forgetting.BITS_PER_TOKEN + 1) == 0.0
    assert forgetting.bits_recalled(4, 1.0) == pytest.approx(4 * (forgetting.BITS_PER_TOKEN - 1))
    assert forgetting.capacity_items(10 * forgetting.BITS_PER_TOKEN) == pytest.approx(10)


def test_oracle_recalls_everything_and_uniform_nothing():
    perfect = forgetting.recall_curve(NextTokenOracle(), [2, 8], seed=0, batch=16)
    blank = forgetting.recall_curve(Uniform(), [2, 8], seed=0, batch=16)
    for n in (2, 8):
        assert perfect[n]["accuracy"] == 1.0
        assert perfect[n]["bits"] == pytest.approx(n * forgetting.BITS_PER_TOKEN, rel=1e-3)
        assert blank[n]["bits"] == 0.0  # log2(32) bits of cross-entropy > log2(31) bits per token
    ids, targets = forgetting.mixed_copy(4, [2])(torch.Generator().manual_seed(0))
    assert forgetting.answer_cross_entropy_bits(Uniform(), (ids, targets)) == pytest.approx(math.log2(forgetting.VOCAB))


def test_mixed_copy_draws_several_sizes_reproducibly():
    make = forgetting.mixed_copy(2, [2, 5])
    lengths = {make(torch.Generator().manual_seed(s))[0].shape[1] for s in range(20)}
    assert lengths == {5, 11}
    a, b = (make(torch.Generator().manual_seed(3)) for _ in range(2))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("depth", [0.0, 0.5, 1.0])
def test_planted_prompt_spans_point_at_the_fact_and_answer(depth):
    prompt = forgetting.planted_prompt(CharTokenizer(), "Nadia", "4827", depth, 6, random.Random(0))
    ids = prompt["ids"][0].tolist()
    assert decode(ids[slice(*prompt["fact"])]) == forgetting.fact_sentence("Nadia", "4827")
    assert decode(ids[slice(*prompt["answer"])]) == " 4827"
    assert prompt["answer"][1] == len(ids)
    assert decode(ids).startswith(forgetting.INSTRUCTION)


def test_deeper_facts_sit_closer_to_the_question():
    starts = [forgetting.planted_prompt(CharTokenizer(), "Kofi", "1111", d, 8, random.Random(1))["fact"][0]
              for d in (0.0, 0.5, 1.0)]
    assert starts[0] == len(forgetting.INSTRUCTION) and starts[0] < starts[1] < starts[2]


def test_cell_accuracy_and_attention_summaries():
    rows = [{"sentences": 8, "depth": 0.0, "correct": c, "fact_mass": [0.1, 0.4], "uniform_mass": 0.1}
            for c in (True, True, False, True)]
    cells = forgetting.cell_accuracy(rows)
    assert list(cells) == [(8, 0.0)] and cells[(8, 0.0)]["mean"] == 0.75 and cells[(8, 0.0)]["n"] == 4
    assert forgetting.attention_by_layer(rows).tolist() == pytest.approx([1.0, 4.0])


def test_verdict_rules():
    assert forgetting.c8_verdict(1.0, 0.2, 0.95)[0] == "supported"
    assert forgetting.c8_verdict(1.0, 0.2, 0.5)[0] == "nuanced"
    assert forgetting.c8_verdict(0.5, 0.2, 0.95)[0] == "nuanced"  # transformer did not reach near-perfect
    assert forgetting.c8_verdict(1.0, 0.9, 0.5)[0] == "refuted"  # GRU recalls as well: nothing was forgotten
    high, gap, floor = forgetting.RECALL_HIGH, forgetting.FORGET_GAP, forgetting.USE_FLOOR
    assert forgetting.c8_verdict(high, 0.0, floor)[0] == "supported"  # thresholds are inclusive
    assert forgetting.c8_verdict(1.0, 1.0 - gap / 2, 1.0)[0] == "nuanced"  # a small gap is not forgetting
    assert "GRU" in forgetting.c8_verdict(1.0, 0.2, 0.95)[1]
