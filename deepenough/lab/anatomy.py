"""What a Llama-style model is made of, read off the model itself rather than typed in."""
from __future__ import annotations

from collections import Counter

from torch import nn


def parameter_groups(model: nn.Module) -> dict[str, int]:
    """Distinct parameters by role: embedding, attention, FFN (MLP), norms."""
    groups, seen = Counter(), set()
    for name, p in model.named_parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        role = ("embedding" if "embed" in name or "lm_head" in name else
                "attention" if "self_attn" in name else
                "ffn" if "mlp" in name else "norm")
        groups[role] += p.numel()
    return dict(groups)


def layer_shapes(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """The weight shapes of one decoder layer (all layers of a Llama share them)."""
    return [(name, tuple(p.shape)) for name, p in model.model.layers[0].named_parameters()]


def serial_depth(config) -> dict[str, int]:
    """Sequential steps from a token's embedding to its logits in a pre-norm Llama.

    Each decoder layer is two residual sublayers; each sublayer starts with an RMSNorm and holds one
    nonlinearity that must finish before the next sublayer starts (the attention softmax; the SiLU gate
    of the FFN). The final RMSNorm and the unembedding close the path. Counted finer, the longest chain
    of matrix products per layer is six (Q/K/V projection, scores, weighted sum, output projection,
    gate/up projection, down projection), plus the output head.
    """
    layers = config.num_hidden_layers
    return {
        "layers": layers,
        "sublayers": 2 * layers,
        "nonlinearities": 2 * layers,          # softmax and SiLU per layer
        "norms": 2 * layers + 1,               # RMSNorm before each sublayer, one at the end
        "nonlinear_steps": 2 * layers + 2 * layers + 1,
        "matmuls": 6 * layers + 1,
    }
