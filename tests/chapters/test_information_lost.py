"""Unit tests for deepenough/information_lost.py on small constructed inputs (no SmolLM2 download or load)."""
import numpy as np
import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from deepenough.chapters import information_lost


@pytest.fixture(scope="module")
def tiny_llama():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=80, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    return LlamaForCausalLM(config).eval()


@pytest.fixture(scope="module")
def tiny_capture(tiny_llama):
    ids = torch.randint(0, 50, (3, 12), generator=torch.Generator().manual_seed(1))
    return information_lost.capture(tiny_llama, ids)


def test_capture_shapes(tiny_capture):
    assert len(tiny_capture.hidden) == 3 and len(tiny_capture.resid) == 4
    assert tiny_capture.hidden[0].shape == (3, 12, 80)
    assert tiny_capture.keys[1].shape == (3, 12, 2 * 8)
    assert tiny_capture.ffn_in[2].shape == (3, 12, 32)


def test_hidden_is_gate_times_up(tiny_capture):
    expected = torch.nn.functional.silu(tiny_capture.gate[1]) * tiny_capture.up[1]
    torch.testing.assert_close(tiny_capture.hidden[1], expected)


def test_recompute_is_bit_identical_and_one_token_within_rounding(tiny_llama, tiny_capture):
    same = information_lost.recompute_error(tiny_llama, tiny_capture, 0)
    assert same["max_abs"] == 0.0 and same["bit_identical"] == 1.0
    alone = information_lost.recompute_error(tiny_llama, tiny_capture, 0, one_token=True)
    assert alone["max_rel"] < information_lost.ROUNDING_TOLERANCE


def test_recompute_detects_a_changed_activation(tiny_llama, tiny_capture):
    tampered = information_lost.Capture(**{**tiny_capture.__dict__, "hidden": [h + 1.0 for h in tiny_capture.hidden]})
    assert information_lost.recompute_error(tiny_llama, tampered, 0)["max_abs"] == pytest.approx(1.0, rel=1e-5)


def test_null_space_share_of_row_space_and_null_space_vectors():
    torch.manual_seed(0)
    w = torch.randn(4, 10)
    basis = information_lost.row_space_basis(w)
    assert basis.shape == (10, 4)
    torch.testing.assert_close(basis.T @ basis, torch.eye(4, dtype=torch.float64), atol=1e-9, rtol=0)
    in_row_space = (torch.randn(5, 4) @ w).double()
    assert information_lost.null_space_share(in_row_space, basis) == pytest.approx(0.0, abs=1e-9)
    null_vectors = torch.randn(5, 10).double()
    null_vectors -= (null_vectors @ basis) @ basis.T
    assert information_lost.null_space_share(null_vectors, basis) == pytest.approx(1.0, abs=1e-9)


def test_random_activation_loses_the_isotropic_share():
    torch.manual_seed(0)
    basis = information_lost.row_space_basis(torch.randn(40, 100))
    share = information_lost.null_space_share(torch.randn(4000, 100), basis)
    assert share == pytest.approx(information_lost.isotropic_null_share(100, 40), abs=0.01)
    assert information_lost.isotropic_null_share(1536, 576) == pytest.approx(0.625)
    assert information_lost.isotropic_null_share(1000, 1) == pytest.approx(0.999)


def test_rank_deficient_down_projection_has_a_smaller_basis():
    w = torch.randn(6, 20)
    w[5] = w[0] + w[1]
    assert information_lost.row_space_basis(w).shape[1] == 5


def test_linear_probe_recovers_a_linear_map_and_shuffle_does_not():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 60, 5))
    y = x @ rng.normal(size=(5, 3)) + 0.01 * rng.normal(size=(8, 60, 3))
    assert information_lost.linear_probe_r2(x, y, seed=0) > 0.99
    assert information_lost.linear_probe_r2(x, y, seed=0, shuffle=True) < 0.1


def test_chunk_split_is_disjoint_and_seeded():
    train, test = information_lost.chunk_split(8, seed=3)
    assert set(train).isdisjoint(test) and len(train) + len(test) == 8
    assert np.array_equal(information_lost.chunk_split(8, seed=3)[1], test)


def test_previous_token_pairs_drop_the_last_and_first_positions():
    source = torch.arange(2 * 10 * 1, dtype=torch.float32).reshape(2, 10, 1)
    x, y = information_lost.previous_token_pairs(source, source)
    assert x.shape == (2, 10 - information_lost.FIRST_SCORED_POSITION - 1, 1)
    assert x[0, 0, 0] == information_lost.FIRST_SCORED_POSITION and x[0, -1, 0] == 8


def test_near_zero_share():
    values = torch.tensor([[0.0, 0.0, 10.0, -10.0]])
    assert information_lost.near_zero_share(values) == 0.5
    gated = information_lost.gate_erasure(torch.full((1, 4), -20.0), torch.ones(1, 4))
    assert gated["up"] == 0.0 and gated["gate"] == 0.0  # all equal: none is small against the RMS
    mixed = information_lost.gate_erasure(torch.tensor([[-20.0, -20.0, 5.0, 5.0]]), torch.ones(1, 4))
    assert mixed["gate"] == 0.5 and mixed["hidden"] == 0.5


def test_emergence_layer():
    assert information_lost.emergence_layer([0.5, 0.7, 0.85, 0.9]) == 2
    assert np.isnan(information_lost.emergence_layer([0.5, 0.6]))


def test_probe_accuracy_separable_and_chance():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 40)
    separable = rng.normal(size=(80, 6)) + 3 * labels[:, None]
    assert information_lost.probe_accuracy(separable, labels, seed=0) > 0.95
    assert information_lost.probe_accuracy(rng.normal(size=(80, 6)), labels, seed=0) < 0.75


def test_political_set_is_balanced_and_unique():
    df = information_lost.political_texts()
    assert len(df) == 100 and df.label.sum() == 50 and not df.text.duplicated().any()


def point(x):
    return {"mean": x, "low": x, "high": x, "n": 3}


def test_c2_verdict():
    assert information_lost.c2_verdict(1e-3, 0.2)[0] == "supported"
    assert information_lost.c2_verdict(0.0, 0.95)[0] == "refuted"
    assert information_lost.c2_verdict(0.0, 0.3)[0] == "nuanced"


def test_c3_verdict():
    iso = 0.625
    assert information_lost.c3_verdict(point(0.7), iso)[0] == "supported"
    assert information_lost.c3_verdict(point(0.3), iso)[0] == "refuted"
    assert information_lost.c3_verdict(point(0.58), iso)[0] == "supported"  # over half, and not under 0.625 - margin
    assert information_lost.c3_verdict({"mean": 0.54, "low": 0.52, "high": 0.56, "n": 30}, iso)[0] == "nuanced"
    assert information_lost.c3_verdict({"mean": 0.55, "low": 0.45, "high": 0.65, "n": 30}, iso)[0] == "nuanced"


def test_c4_verdict():
    assert information_lost.c4_verdict(point(0.4), point(0.08), hidden_layers=1)[0] == "nuanced"
    assert information_lost.c4_verdict(point(0.4), point(0.08), hidden_layers=2)[0] == "supported"
    assert information_lost.c4_verdict(point(0.1), point(0.08), hidden_layers=1)[0] == "refuted"


def test_c6_verdict():
    assert information_lost.c6_verdict(point(8.0), point(7.0), point(0.6))[0] == "supported"
    assert information_lost.c6_verdict(point(8.0), point(4.0), point(0.9))[0] == "refuted"
    assert information_lost.c6_verdict(point(8.0), point(8.0), point(0.9))[0] == "nuanced"
