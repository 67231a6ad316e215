"""Activation patching on the residual stream of a Llama-style model (causal tracing).

Residual index ``k`` follows ``output_hidden_states``: ``k = 0`` is the token embedding and ``k = n + 1`` the
output of decoder layer ``n``. ``run_from`` finishes a forward pass from a stored residual stream with chosen
positions of every later residual index overwritten by stored values (from another run), so every later
computation (attention of later positions, the layers above) reads the patched vectors. Meng et al. (2022)
patch clean states into a corrupted run; the direction is the caller's choice.
"""
from __future__ import annotations

import torch


def residual_count(model) -> int:
    """Residual indices there are to patch: the embedding plus one per decoder layer."""
    return len(model.model.layers) + 1


@torch.no_grad()
def residuals(model, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every residual stream of an unpatched run, (layers + 1, batch, tokens, d_model), and its logits.

    Captured by hooks on the embedding and on each decoder layer's output, not from
    ``output_hidden_states``, whose last entry has the final norm applied: patching that into the last
    layer's output would not restore the run.
    """
    store = []
    modules = [model.model.embed_tokens] + list(model.model.layers)
    handles = [m.register_forward_hook(lambda module, args, output: store.append(
        (output[0] if isinstance(output, tuple) else output).detach())) for m in modules]
    try:
        logits = model(ids, use_cache=False).logits.detach()
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack(store), logits


@torch.no_grad()
def run_from(model, start: torch.Tensor, from_index: int, positions: torch.Tensor | None = None,
             values: torch.Tensor | None = None, logit_positions: torch.Tensor | None = None):
    """Finish a forward pass from residual index ``from_index``: ``start`` (batch, tokens, d_model) is the
    residual stream there (already patched if the caller wants), and decoder layers ``from_index`` on run
    over it, with each later residual index overwritten at ``positions`` by ``values`` (layers + 1, batch,
    d_model). Layers below ``from_index`` are the clean run's, so they need not run again: causal tracing at
    every starting layer costs about half a forward pass each instead of a whole one.
    Returns (residuals for indices from_index..layers, logits (batch, tokens, vocab), or (batch, vocab) at
    ``logit_positions`` only). Sequences without padding only.
    """
    from transformers.masking_utils import create_causal_mask

    inner = model.model
    hidden = start.clone()
    position_ids = torch.arange(hidden.shape[1]).unsqueeze(0)
    mask = create_causal_mask(config=model.config, inputs_embeds=hidden, attention_mask=None, cache=None,
                              position_ids=position_ids)
    rotary = inner.rotary_emb(hidden, position_ids=position_ids)
    rows = torch.arange(len(hidden))
    states = [hidden]
    for n in range(from_index, len(inner.layers)):
        hidden = inner.layers[n](hidden, attention_mask=mask, position_embeddings=rotary, position_ids=position_ids,
                                 cache=None, use_cache=False)
        hidden = hidden[0] if isinstance(hidden, tuple) else hidden
        if positions is not None:
            hidden = hidden.clone()
            hidden[rows, positions] = values[n + 1].to(hidden.dtype)
        states.append(hidden)
    if logit_positions is not None:
        hidden = hidden[rows, logit_positions]
    return torch.stack(states), model.lm_head(inner.norm(hidden))


@torch.no_grad()
def ffn_outputs(model, ids: torch.Tensor, position: int) -> torch.Tensor:
    """Every decoder layer's FFN (``mlp``) output at ``position`` in an unpatched run: (layers, batch, d_model)."""
    store = []
    handles = [layer.mlp.register_forward_hook(lambda module, args, output: store.append(output[:, position].detach()))
               for layer in model.model.layers]
    try:
        model(ids, use_cache=False)
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack(store)


@torch.no_grad()
def residuals_with_ffn_outputs(model, ids: torch.Tensor, position: int, values: torch.Tensor):
    """``residuals`` of a run in which every layer's FFN output at ``position`` is replaced by ``values[n]``
    (layers, batch, d_model; from another run's ``ffn_outputs``). Only what the FFNs there concluded is swapped:
    attention, and every other position's FFN, compute on as usual."""
    def swap(n):
        def hook(module, args, output):
            output = output.clone()
            output[:, position] = values[n].to(output.dtype)
            return output
        return hook

    handles = [layer.mlp.register_forward_hook(swap(n)) for n, layer in enumerate(model.model.layers)]
    try:
        return residuals(model, ids)
    finally:
        for handle in handles:
            handle.remove()
