"""Unit tests for deepenough/lab/patching.py on a tiny random Llama (no SmolLM2 download).

The oracle is a second way to patch: forward hooks that overwrite residual indices while a whole forward
pass runs. ``run_from`` (the chapters' way, which skips the layers below the patch) must agree with it.
"""
from collections.abc import Iterable
from contextlib import contextmanager

import pytest
import torch

from deepenough.lab import patching


@pytest.fixture(scope="module")
def tiny(random_llama):
    return random_llama(vocab=40, intermediate=64, max_len=32)


@pytest.fixture(scope="module")
def pair():
    clean = torch.randint(0, 40, (4, 9), generator=torch.Generator().manual_seed(1))
    counterfactual = clean.clone()
    counterfactual[:, 3] = (clean[:, 3] + 7) % 40  # only the source token (position 3) differs
    return clean, counterfactual


@contextmanager
def patch_residual(model, positions: torch.Tensor, values: torch.Tensor, indices: Iterable[int]):
    """While the context is open, residual index ``k`` (for each ``k`` in ``indices``) at row ``b``, token
    ``positions[b]`` is replaced by ``values[k, b]`` (``values``: (layers + 1, batch, d_model)).

    Hooks sit on the embedding (k = 0) and on each decoder layer's output (k = n + 1); they are removed on
    exit, even after an error, so the model is left as it was.
    """
    indices = sorted(set(int(k) for k in indices))
    count = patching.residual_count(model)
    if any(k < 0 or k >= count for k in indices):
        raise ValueError(f"residual indices must lie in 0..{count - 1}")
    rows = torch.arange(len(positions))

    def hook_for(k):
        def hook(module, args, output):
            hidden = output[0] if isinstance(output, tuple) else output
            hidden = hidden.clone()
            hidden[rows, positions] = values[k].to(hidden.dtype)
            return (hidden, *output[1:]) if isinstance(output, tuple) else hidden
        return hook

    modules = [model.model.embed_tokens] + list(model.model.layers)
    handles = [modules[k].register_forward_hook(hook_for(k)) for k in indices]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@torch.no_grad()
def patched_run(model, ids: torch.Tensor, positions: torch.Tensor, values: torch.Tensor, from_index: int):
    """Run ``ids`` with residual indices ``from_index`` and above replaced at ``positions`` by ``values``
    (``values`` as ``residuals`` returns them, at the patched positions); returns what ``residuals`` does."""
    with patch_residual(model, positions, values, range(from_index, patching.residual_count(model))):
        return patching.residuals(model, ids)


def test_residuals_match_the_model(tiny, pair):
    states, logits = patching.residuals(tiny, pair[0])
    assert states.shape == (4, 4, 9, 32)
    torch.testing.assert_close(logits, tiny(pair[0]).logits, rtol=0, atol=0)
    torch.testing.assert_close(states[0], tiny.model.embed_tokens(pair[0]), rtol=0, atol=0)


@pytest.mark.parametrize("start", [0, 1, 2, 3])
def test_patching_with_the_clean_runs_own_activations_restores_it_exactly(tiny, pair, start):
    clean = pair[0]
    states, logits = patching.residuals(tiny, clean)
    positions = torch.full((4,), 3)
    patched_states, patched_logits = patched_run(tiny, clean, positions, states[:, :, 3], start)
    assert torch.equal(patched_logits, logits) and torch.equal(patched_states, states)
    run_states, run_logits = patching.run_from(tiny, states[start], start, positions, states[:, :, 3])
    assert torch.equal(run_logits, logits) and torch.equal(run_states, states[start:])


def test_patching_the_only_differing_token_everywhere_gives_the_counterfactual_run(tiny, pair):
    clean, counterfactual = pair
    cf_states, cf_logits = patching.residuals(tiny, counterfactual)
    _, logits = patched_run(tiny, clean, torch.full((4,), 3), cf_states[:, :, 3], 0)
    torch.testing.assert_close(logits[:, 3:], cf_logits[:, 3:], rtol=0, atol=1e-5)
    assert not torch.allclose(logits[:, 3:], patching.residuals(tiny, clean)[1][:, 3:])


def test_patching_changes_later_positions_only(tiny, pair):
    clean, counterfactual = pair
    states, logits = patching.residuals(tiny, clean)
    cf_states, _ = patching.residuals(tiny, counterfactual)
    _, patched = patched_run(tiny, clean, torch.full((4,), 3), cf_states[:, :, 3], 2)
    assert torch.equal(patched[:, :3], logits[:, :3])
    assert not torch.allclose(patched[:, 4:], logits[:, 4:])


def test_run_from_agrees_with_the_hooked_full_pass(tiny, pair):
    clean, counterfactual = pair
    states, _ = patching.residuals(tiny, clean)
    cf_states, _ = patching.residuals(tiny, counterfactual)
    positions = torch.full((4,), 3)
    start = states[2].clone()
    start[:, 3] = cf_states[2, :, 3]
    _, hooked = patched_run(tiny, clean, positions, cf_states[:, :, 3], 2)
    _, partial = patching.run_from(tiny, start, 2, positions, cf_states[:, :, 3])
    torch.testing.assert_close(partial, hooked, rtol=0, atol=1e-5)
    _, last = patching.run_from(tiny, start, 2, positions, cf_states[:, :, 3], logit_positions=torch.full((4,), 8))
    torch.testing.assert_close(last, hooked[:, 8], rtol=0, atol=1e-5)


def test_swapping_ffn_outputs_with_the_runs_own_restores_it_exactly(tiny, pair):
    clean = pair[0]
    states, logits = patching.residuals(tiny, clean)
    swapped_states, swapped_logits = patching.residuals_with_ffn_outputs(tiny, clean, 3,
                                                                         patching.ffn_outputs(tiny, clean, 3))
    assert torch.equal(swapped_logits, logits) and torch.equal(swapped_states, states)


def test_swapping_ffn_outputs_moves_only_the_position_and_later_ones(tiny, pair):
    clean, counterfactual = pair
    states, _ = patching.residuals(tiny, clean)
    cf_ffn = patching.ffn_outputs(tiny, counterfactual, 3)
    assert cf_ffn.shape == (len(tiny.model.layers), 4, 32)
    swapped, _ = patching.residuals_with_ffn_outputs(tiny, clean, 3, cf_ffn)
    assert torch.equal(swapped[:, :, :3], states[:, :, :3])  # earlier positions never see it
    assert torch.equal(swapped[0], states[0])  # the embedding is untouched: only FFN outputs are swapped
    assert not torch.allclose(swapped[1:, :, 3], states[1:, :, 3])
    assert not torch.allclose(swapped[-1, :, 5:], states[-1, :, 5:])
