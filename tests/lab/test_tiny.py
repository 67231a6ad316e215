"""Shapes and causality of the tiny models, and the ladder's routes end to end."""
import numpy as np
import pytest
import torch

from deepenough.lab import ladder, tasks, tiny

VOCAB = 14


def models():
    return {
        "llama": tiny.llama(VOCAB, 16, 2, heads=2, max_len=64),
        "looped": tiny.looped(tiny.llama(VOCAB, 16, 1, heads=2, max_len=64), 3),
        "gru": tiny.RecurrentLM(VOCAB, 16),
        "feedback": tiny.FeedbackTransformer(VOCAB, 16, depth=2, heads=2),
    }


@pytest.mark.parametrize("name", ["llama", "looped", "gru", "feedback"])
def test_shapes_and_no_position_reads_the_future(name):
    model = models()[name].eval()
    ids = torch.randint(0, VOCAB, (3, 10), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = tiny.logits(model, ids)
        assert out.shape == (3, 10, VOCAB)
        for cut in (1, 4, 9):
            changed = ids.clone()
            changed[:, cut:] = (changed[:, cut:] + 1) % VOCAB
            other = tiny.logits(model, changed)
            assert torch.allclose(out[:, :cut], other[:, :cut], atol=1e-5)     # the past is untouched
            assert not torch.allclose(out[:, cut], other[:, cut], atol=1e-5)   # and the change is seen


def test_feedback_memory_is_what_later_tokens_read():
    """Pin the memory to the embeddings or to the top layer: the first token, which has no memory to read,
    is unchanged, and every later token changes, so later tokens' layers read earlier tokens' top layer."""
    model = tiny.FeedbackTransformer(VOCAB, 16, depth=2, heads=2).eval()
    ids = torch.randint(0, VOCAB, (2, 5), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        model.mix.copy_(torch.tensor([50.0, -50.0, -50.0]))
        bottom = tiny.logits(model, ids)
        model.mix.copy_(torch.tensor([-50.0, -50.0, 50.0]))
        top = tiny.logits(model, ids)
    assert torch.allclose(bottom[:, 0], top[:, 0], atol=1e-6)
    assert all(not torch.allclose(bottom[:, t], top[:, t], atol=1e-4) for t in range(1, 5))


def test_looped_counts_one_block_and_flops_per_pass():
    one = tiny.llama(VOCAB, 16, 1, heads=2)
    looped = tiny.looped(tiny.llama(VOCAB, 16, 1, heads=2), 4)
    assert tiny.count_params(looped) == tiny.count_params(one)
    assert tiny.flops_per_token(looped, 8) > 3 * tiny.flops_per_token(one, 8)


def test_flops_are_positive_and_grow_with_width():
    small, big = tiny.RecurrentLM(VOCAB, 8), tiny.RecurrentLM(VOCAB, 32)
    assert 0 < tiny.recurrent_flops_per_token(small) < tiny.recurrent_flops_per_token(big)
    fb = tiny.FeedbackTransformer(VOCAB, 16)
    assert fb.flops_per_token(10) > 2 * tiny.count_params(fb) - 1


def test_longest_tracked_stops_at_the_first_failure():
    assert ladder.longest_tracked([1.0, 0.95, 0.5, 1.0]) == 2
    assert ladder.longest_tracked([0.2, 1.0]) == 0
    assert ladder.longest_tracked([1.0, 1.0]) == 2


@pytest.mark.parametrize("route", [ladder.Route("transformer", 1, 16), ladder.Route("gru", 1, 16),
                                   ladder.Route("feedback", 1, 16), ladder.Route("looped", 1, 16, loops=2),
                                   ladder.Route("transformer", 1, 16, mode="cot"),
                                   ladder.Route("transformer", 1, 16, mode="filler")])
def test_every_route_trains_and_is_scored_to_twice_the_length(route):
    out = ladder.run(route, "s3", length=4, steps=3, seed=0)
    assert out["accuracy"].shape == (8,) and np.all((0 <= out["accuracy"]) & (out["accuracy"] <= 1))
    assert 0 <= out["k_star"] <= 4 and out["params"] > 0 and out["flops"] > 0


@pytest.mark.slow  # trains for seconds
def test_a_gru_learns_s3_quickly():
    out = ladder.run(ladder.Route("gru", 1, 64), "s3", length=6, steps=400, seed=0)
    assert out["k_star"] == 6


def test_chain_of_thought_is_scored_on_the_models_own_states():
    """A model that always writes the identity as its state is wrong wherever the product is not the identity."""
    class Identity(torch.nn.Module):
        def forward(self, ids):
            out = torch.zeros(*ids.shape, tasks.group_vocab("s3"))
            out[..., 0] = 1.0
            return out
    acc = ladder.accuracy_by_chain(Identity(), "s3", 6, mode="cot", samples=300)
    assert acc.shape == (6,) and np.all(acc < 0.4)


def test_mixing_modes_with_recurrent_routes_is_refused():
    with pytest.raises(ValueError):
        ladder.build(ladder.Route("gru", 1, 8, mode="cot"), "s3", seed=0)


def test_llama_sets_the_ffn_width_directly_when_asked():
    model = tiny.llama(VOCAB, 16, 1, heads=2, d_ff=2)
    assert model.model.layers[0].mlp.gate_proj.weight.shape == (2, 16)
    assert tiny.llama(VOCAB, 16, 1, heads=2).model.layers[0].mlp.gate_proj.weight.shape == (64, 16)


def test_recurrent_lm_with_its_own_embedding_width_sweeps_the_state_alone():
    small, big = (tiny.RecurrentLM(VOCAB, w, embed=8) for w in (4, 32))
    assert small.embed.weight.shape == big.embed.weight.shape == (VOCAB, 8)
    assert small(torch.zeros(2, 5, dtype=torch.long)).shape == (2, 5, VOCAB)
    assert tiny.RecurrentLM(VOCAB, 4, cell="lstm", embed=8).state_floats() == 8


def test_simulated_accuracy_tracks_then_falls_to_chance():
    acc = ladder.simulated_accuracy(np.random.default_rng(0), tracked=3, length=4, chance=1 / 6, samples=4000)
    assert acc.shape == (8,) and (acc[:3] > 0.98).all() and abs(acc[-1] - 1 / 6) < 0.05
    assert ladder.longest_tracked(acc) == 3
