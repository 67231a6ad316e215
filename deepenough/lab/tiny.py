"""Tiny from-scratch models, all built the same way so that chapters compare shapes, not code.

Transformers come from ``transformers`` configs (the same Llama block as SmolLM2: RMSNorm, rotary
positions, SwiGLU); the recurrent baseline is plain ``torch.nn``. Every model maps token ids
``(batch, seq)`` to logits ``(batch, seq, vocab)`` through ``logits(model, ids)``.
"""
from __future__ import annotations

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM


def llama(vocab: int, d_model: int, depth: int, heads: int = 4, ff_mult: int = 4, max_len: int = 256,
          seed: int = 0) -> LlamaForCausalLM:
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab, hidden_size=d_model, intermediate_size=ff_mult * d_model,
                         num_hidden_layers=depth, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=max_len, tie_word_embeddings=True, use_cache=False,
                         bos_token_id=None, eos_token_id=None, pad_token_id=None)
    return LlamaForCausalLM(config)


def looped(model: LlamaForCausalLM, loops: int) -> LlamaForCausalLM:
    """Weight-tie a one-layer Llama into ``loops`` passes of the same block (a looped transformer).

    The module list holds the same layer ``loops`` times, so ``parameters()`` counts it once while the
    forward pass runs it ``loops`` times: the parameters of one block, the depth of ``loops``.
    """
    block = model.model.layers[0]
    model.model.layers = nn.ModuleList([block] * loops)
    model.config.num_hidden_layers = loops
    return model


class RecurrentLM(nn.Module):
    """Embedding → multi-layer GRU (or LSTM) → tied output layer: a fixed-size state, read left to right."""

    def __init__(self, vocab: int, d_model: int, depth: int = 1, cell: str = "gru", seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.embed = nn.Embedding(vocab, d_model)
        self.rnn = rnn(d_model, d_model, num_layers=depth, batch_first=True)
        self.cell, self.depth, self.d_model = cell, depth, d_model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(self.embed(ids))
        return hidden @ self.embed.weight.T

    def state_floats(self) -> int:
        """Numbers carried from one token to the next: the whole memory of the network."""
        return self.depth * self.d_model * (2 if self.cell == "lstm" else 1)


def logits(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    out = model(ids)
    return out if isinstance(out, torch.Tensor) else out.logits


def device_of(model: nn.Module) -> torch.device:
    """Where the model's weights live (the CPU for a model without any)."""
    return next(model.parameters(), torch.zeros(0)).device


def count_params(model: nn.Module, embeddings: bool = True) -> int:
    """Distinct parameters (a tied or looped weight counts once)."""
    params = {id(p): p for p in model.parameters()}
    if not embeddings:
        for m in model.modules():
            if isinstance(m, nn.Embedding):
                params.pop(id(m.weight), None)
    return sum(p.numel() for p in params.values())


def flops_per_token(model: nn.Module, context: int) -> float:
    """Forward FLOPs per token, Kaplan et al. (2020) style: 2 per weight use, plus attention scores.

    A looped block is counted once per pass, because it is run once per pass.
    """
    weight_uses = sum(p.numel() for n, p in model.named_parameters(remove_duplicate=False)
                      if "embed" not in n and "wte" not in n and "wpe" not in n)
    config = getattr(model, "config", None)
    attention = 2 * config.num_hidden_layers * context * config.hidden_size if config is not None else 0
    return 2.0 * weight_uses + attention
