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
          seed: int = 0, d_ff: int | None = None) -> LlamaForCausalLM:
    """A Llama of ``depth`` blocks; the FFN's hidden width is ``ff_mult`` x ``d_model`` unless ``d_ff`` sets it
    directly (a width sweep goes narrower than the residual stream, which no whole multiple can)."""
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab, hidden_size=d_model, intermediate_size=d_ff or ff_mult * d_model,
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
    """Embedding → multi-layer GRU (or LSTM) → output layer: a fixed-size state, read left to right.

    By default the embedding has the state's width and the output layer is tied to it. With ``embed`` the
    embedding has that width and a linear read-out of its own, so sweeping ``d_model`` sweeps the memory alone.
    """

    def __init__(self, vocab: int, d_model: int, depth: int = 1, cell: str = "gru", seed: int = 0,
                 embed: int | None = None):
        super().__init__()
        torch.manual_seed(seed)
        rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell]
        self.embed = nn.Embedding(vocab, embed or d_model)
        self.rnn = rnn(embed or d_model, d_model, num_layers=depth, batch_first=True)
        self.out = nn.Linear(d_model, vocab) if embed else None
        self.cell, self.depth, self.d_model = cell, depth, d_model

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden, _ = self.rnn(self.embed(ids))
        return self.out(hidden) if self.out is not None else hidden @ self.embed.weight.T

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


class FeedbackTransformer(nn.Module):
    """A Feedback Transformer (Fan et al., 2020): every layer of token t reads one memory of earlier tokens,
    each earlier token's memory vector being a learned softmax mix of *all* its layers' outputs, the top
    one included. Hidden state computed at any layer of token t-1 is therefore visible to the lowest layer
    of token t, which a standard transformer only allows one layer up. The price is that tokens must be
    computed one after another, as in a recurrent network.

    Pre-norm blocks (LayerNorm, multi-head attention, GELU MLP of ``ff_mult`` x width); no position
    embedding but an ALiBi recency bias per head (the feedback model's memory is ordered by time only
    through it). Each layer attends over the memories of tokens 0..t-1 and its own input at t, so no
    position ever reads a later one.
    """

    def __init__(self, vocab: int, d_model: int, depth: int = 2, heads: int = 4, ff_mult: int = 4, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.d_model, self.depth, self.heads = d_model, depth, heads
        self.embed = nn.Embedding(vocab, d_model)
        self.norm1 = nn.ModuleList([nn.LayerNorm(d_model) for _ in range(depth)])
        self.norm2 = nn.ModuleList([nn.LayerNorm(d_model) for _ in range(depth)])
        self.q = nn.ModuleList([nn.Linear(d_model, d_model) for _ in range(depth)])
        self.kv = nn.ModuleList([nn.Linear(d_model, 2 * d_model) for _ in range(depth)])
        self.out = nn.ModuleList([nn.Linear(d_model, d_model) for _ in range(depth)])
        self.mlp = nn.ModuleList([nn.Sequential(nn.Linear(d_model, ff_mult * d_model), nn.GELU(),
                                                nn.Linear(ff_mult * d_model, d_model)) for _ in range(depth)])
        self.mix = nn.Parameter(torch.zeros(depth + 1))     # softmax weights of the layers in the memory
        self.final = nn.LayerNorm(d_model)
        self.register_buffer("slopes", 2.0 ** (-8.0 * torch.arange(1, heads + 1) / heads), persistent=False)

    def _attend(self, layer: int, h: torch.Tensor, keys: list, values: list) -> torch.Tensor:
        b, d, nh = h.shape[0], self.d_model, self.heads
        x = self.norm1[layer](h)
        k_self, v_self = self.kv[layer](x).chunk(2, -1)
        k = torch.stack(keys[layer] + [k_self], 1).view(b, -1, nh, d // nh)     # (b, t+1, heads, hd)
        v = torch.stack(values[layer] + [v_self], 1).view(b, -1, nh, d // nh)
        q = self.q[layer](x).view(b, nh, d // nh)
        scores = torch.einsum("bhd,bthd->bht", q, k) / (d // nh) ** 0.5
        distance = torch.arange(k.shape[1] - 1, -1, -1, device=h.device, dtype=h.dtype)
        scores = scores - self.slopes[:, None].to(h.dtype) * distance
        mixed = torch.einsum("bht,bthd->bhd", scores.softmax(-1), v).reshape(b, d)
        return h + self.out[layer](mixed)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        keys = [[] for _ in range(self.depth)]
        values = [[] for _ in range(self.depth)]
        weights = self.mix.softmax(0)
        outputs = []
        for t in range(ids.shape[1]):
            h = self.embed(ids[:, t])
            states = [h]
            for layer in range(self.depth):
                h = self._attend(layer, h, keys, values)
                h = h + self.mlp[layer](self.norm2[layer](h))
                states.append(h)
            memory = sum(w * s for w, s in zip(weights, states))
            for layer in range(self.depth):
                k, v = self.kv[layer](self.norm1[layer](memory)).chunk(2, -1)
                keys[layer].append(k)
                values[layer].append(v)
            outputs.append(self.final(h))
        return torch.stack(outputs, 1) @ self.embed.weight.T

    def flops_per_token(self, context: int) -> float:
        """2 per weight use (the tied output layer included; the key/value projections run twice per token,
        on the layer's input and on the memory) plus attention scores and mixing."""
        weights = sum(p.numel() for p in self.parameters())
        kv = sum(p.numel() for p in self.kv.parameters())
        return 2.0 * (weights + kv) + 4.0 * self.depth * context * self.d_model


def recurrent_flops_per_token(model: RecurrentLM) -> float:
    """Forward FLOPs per token of a ``RecurrentLM``: 2 per recurrent weight, plus the output layer."""
    rnn = sum(p.numel() for p in model.rnn.parameters())
    out = model.out.weight.numel() if model.out is not None else model.embed.weight.numel()
    return 2.0 * (rnn + out)
