"""Page ``book/information_lost.md``, claims C2, C3, C4 and C6: what a SwiGLU FFN computes at one token, and what
later tokens can read of it.

SmolLM2's FFN at layer n is ``down(silu(gate(x)) * up(x))`` with ``x`` the RMS-normed residual stream.
The 1536-wide product ``silu(gate(x)) * up(x)`` is the *hidden activation*; a later token never reads
it, only the keys and values that later layers compute from the residual stream.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler

from ..machinery.results import Ruling
from ..lab import stats
from ..machinery import paths

POLITICAL_CSV = paths.chapter_data("information_lost") / "political.csv"
# Appended to every labelled text; identical tokens in both classes, so whatever a probe reads at these
# positions was carried there from the topic sentence by attention.
SUFFIX = " People kept talking about it for the rest of the day."
FIRST_SCORED_POSITION = 4  # the first tokens of a chunk (attention sinks, huge norms) are left out of probes

# Verdict thresholds (defended in the chapter).
ROUNDING_TOLERANCE = 1e-5  # relative error below which a recomputation counts as "the same numbers"
RECOVERABLE_R2 = 0.9  # held-out R² above which a hidden activation counts as readable by the next token
MAJORITY = 0.5  # "most of the hidden information": more than half the hidden energy
ALIGNMENT_MARGIN = 0.05  # how far under the isotropic null-space share counts as "trained to write it out"
ERASE_FRACTION = 0.1  # a unit is "near zero" when |value| < ERASE_FRACTION × the token's RMS over units
ERASE_MARGIN = 0.1  # extra near-zero share the gate must add over the ungated up-projection
EMERGENCE_ACCURACY = 0.8  # held-out accuracy at which the political feature counts as decodable
SHALLOWER_BY = 2.0  # layers earlier that later tokens must decode the feature to count as "carried forward"


# ---------------------------------------------------------------------------------------------- text
def stdlib_chunks(tokenizer, n_chunks: int, length: int) -> torch.Tensor:
    """``n_chunks`` token windows of ``length``, evenly spaced through the Python reference manual text
    that ships with the standard library (``pydoc_data.topics``), sorted by topic for determinism."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k] for k in sorted(topics))
    ids = tokenizer(text, return_tensors="pt").input_ids[0]
    starts = np.linspace(0, len(ids) - length, n_chunks).astype(int)
    return torch.stack([ids[s:s + length] for s in starts])


def political_texts() -> pd.DataFrame:
    return pd.read_csv(POLITICAL_CSV)


# ---------------------------------------------------------------------------------------- capturing
@dataclass
class Capture:
    """Per layer (index = layer), arrays shaped (batch, tokens, features)."""
    ffn_in: list[torch.Tensor]  # RMS-normed input of the FFN, 576
    gate: list[torch.Tensor]  # gate_proj(x) before the SiLU, 1536
    up: list[torch.Tensor]  # up_proj(x), 1536
    hidden: list[torch.Tensor]  # silu(gate) * up, the input of down_proj, 1536
    keys: list[torch.Tensor]  # k_proj(x) before rotary positions, 3 heads × 64
    values: list[torch.Tensor]  # v_proj(x), 3 heads × 64
    resid: list[torch.Tensor]  # residual stream: resid[0] embeddings, resid[n + 1] output of layer n


@torch.no_grad()
def capture(model, ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> Capture:
    layers = model.model.layers
    store = {name: [None] * len(layers) for name in ("ffn_in", "gate", "up", "hidden", "keys", "values")}

    def keep(name, i, pre):
        def hook(module, args, output=None):
            store[name][i] = (args[0] if pre else output).detach().clone()
        return hook

    handles = []
    for i, layer in enumerate(layers):
        mlp, attn = layer.mlp, layer.self_attn
        handles += [mlp.register_forward_pre_hook(keep("ffn_in", i, True)),
                    mlp.down_proj.register_forward_pre_hook(keep("hidden", i, True)),
                    mlp.gate_proj.register_forward_hook(keep("gate", i, False)),
                    mlp.up_proj.register_forward_hook(keep("up", i, False)),
                    attn.k_proj.register_forward_hook(keep("keys", i, False)),
                    attn.v_proj.register_forward_hook(keep("values", i, False))]
    try:
        out = model(ids, attention_mask=attention_mask, output_hidden_states=True, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return Capture(**store, resid=[h.detach() for h in out.hidden_states])


# ------------------------------------------------------------------------- experiment 1: recompute
def ffn_hidden(mlp, x: torch.Tensor) -> torch.Tensor:
    return mlp.act_fn(mlp.gate_proj(x)) * mlp.up_proj(x)


@torch.no_grad()
def recompute_error(model, cap: Capture, layer: int, one_token: bool = False) -> dict:
    """Recompute layer ``layer``'s hidden activation from its stored FFN input and compare.

    ``one_token`` recomputes each token's row on its own (a different matrix shape, so a different
    summation order) instead of the whole stored batch at once."""
    mlp, x, stored = model.model.layers[layer].mlp, cap.ffn_in[layer], cap.hidden[layer]
    again = torch.cat([ffn_hidden(mlp, row[None]) for row in x.reshape(-1, x.shape[-1])]).reshape(stored.shape) \
        if one_token else ffn_hidden(mlp, x)
    diff = (again - stored).abs()
    return {"max_abs": diff.max().item(), "max_rel": (diff.max() / stored.abs().max()).item(),
            "bit_identical": (again == stored).double().mean().item()}


def readable_sizes(config) -> list[dict]:
    """What one layer of a later token can read of an earlier token, and what it cannot, in floats."""
    kv = config.num_key_value_heads * config.head_dim
    return [
        {"vector": "key (k_proj of the residual stream)", "floats": kv, "readable by later tokens": "yes"},
        {"vector": "value (v_proj of the residual stream)", "floats": kv, "readable by later tokens": "yes"},
        {"vector": "residual stream (layer input)", "floats": config.hidden_size,
         "readable by later tokens": "only through the key and value above"},
        {"vector": "FFN hidden activation", "floats": config.intermediate_size, "readable by later tokens": "no"},
    ]


def parameter_shares(model) -> dict:
    """FFN parameters as a share of the non-embedding parameters and of all (tied embedding counted once)."""
    ffn = sum(p.numel() for n, p in model.named_parameters() if ".mlp." in n)
    embed = model.model.embed_tokens.weight.numel()
    total = sum(p.numel() for p in model.parameters())
    return {"ffn": ffn, "total": total, "of_non_embedding": ffn / (total - embed), "of_all": ffn / total}


# ------------------------------------------------------------------------ experiment 2: null space
def row_space_basis(down_weight: torch.Tensor) -> torch.Tensor:
    """Orthonormal basis (hidden × rank) of the hidden directions that down_proj does not send to zero."""
    w = down_weight.double().numpy()
    # eigh of the small (output × output) Gram matrix: the same row space as an SVD, much cheaper.
    eigenvalues, u = np.linalg.eigh(w @ w.T)
    keep = eigenvalues > eigenvalues.max() * max(w.shape) * np.finfo(np.float32).eps
    return torch.from_numpy(w.T @ u[:, keep] / np.sqrt(eigenvalues[keep]))


def null_space_share(hidden: torch.Tensor, basis: torch.Tensor, center: bool = False) -> float:
    """Share of the energy (sum of squares) of ``hidden`` rows that lies in down_proj's null space.

    With ``center`` the rows' mean is removed first, giving the share of the *variance* instead."""
    h = hidden.reshape(-1, hidden.shape[-1]).double()
    if center:
        h = h - h.mean(0)
    total = (h ** 2).sum()
    return float(1 - ((h @ basis) ** 2).sum() / total)


def isotropic_null_share(hidden_width: int, output_width: int) -> float:
    """The share an activation with no preferred direction would lose: null-space dims / hidden dims."""
    return 1 - min(output_width, hidden_width) / hidden_width


# --------------------------------------------------------------------------- experiment 3: probes
def previous_token_pairs(source: torch.Tensor, target: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Rows at token t−1 (for every t), per chunk, from FIRST_SCORED_POSITION on: (chunks, rows, features)."""
    s = source[:, FIRST_SCORED_POSITION:-1]
    t = target[:, FIRST_SCORED_POSITION:-1]
    return s.numpy(), t.numpy()


def probe_sources(cap: Capture, layer: int) -> dict[str, torch.Tensor]:
    """What token t can read of token t−1 once layer ``layer`` is done (and one layer later), plus the
    FFN's own input: the reference for how much any *linear* reader can recover."""
    kv = lambda n: torch.cat([cap.keys[n], cap.values[n]], -1)  # noqa: E731
    sources = {"FFN input of layer n (linear reference)": cap.ffn_in[layer],
               "residual stream after layer n": cap.resid[layer + 1],
               "keys+values at layer n+1": kv(layer + 1)}
    if layer + 2 < len(cap.keys):
        sources["keys+values at layers n+1, n+2"] = torch.cat([kv(layer + 1), kv(layer + 2)], -1)
    return sources


def chunk_split(n_chunks: int, seed: int, test_share: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n_chunks)
    n_test = max(1, round(test_share * n_chunks))
    return order[n_test:], order[:n_test]


RIDGE_ALPHAS = (1e1, 1e2, 1e3, 1e4)  # penalties tried on standardized inputs; one training chunk picks


class RidgePath:
    """Ridge regression for several penalties from one eigendecomposition of the Gram matrix."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x_mean, self.y_mean = x.mean(0), y.mean(0)
        xc = x - self.x_mean
        eigenvalues, self.basis = np.linalg.eigh(xc.T @ xc)
        self.eigenvalues = np.clip(eigenvalues, 0, None)
        self.projected = self.basis.T @ (xc.T @ (y - self.y_mean))

    def predict(self, x: np.ndarray, alpha: float) -> np.ndarray:
        return ((x - self.x_mean) @ self.basis) @ (self.projected / (self.eigenvalues + alpha)[:, None]) + self.y_mean


def linear_probe_r2(x: np.ndarray, y: np.ndarray, seed: int, shuffle: bool = False) -> float:
    """Held-out variance-weighted R² of a ridge map from ``x`` to ``y`` (both chunks × rows × features),
    trained on some chunks and tested on the others; the penalty is chosen on one more held-out training
    chunk. ``shuffle`` permutes training targets: the floor."""
    train, test = chunk_split(len(x), seed)
    flat = lambda a, idx: a[idx].reshape(-1, a.shape[-1]).astype(np.float64)  # noqa: E731
    xs, ys = flat(x, train), flat(y, train)
    if shuffle:
        ys = ys[np.random.default_rng(seed).permutation(len(ys))]
    scaler = StandardScaler().fit(xs)
    xs = scaler.transform(xs)
    pick = x.shape[1]  # the rows of the first training chunk pick the penalty
    path = RidgePath(xs[pick:], ys[pick:])
    alpha = max(RIDGE_ALPHAS, key=lambda a: r2_score(ys[:pick], path.predict(xs[:pick], a),
                                                       multioutput="variance_weighted"))
    prediction = RidgePath(xs, ys).predict(scaler.transform(flat(x, test)), alpha)
    return float(r2_score(flat(y, test), prediction, multioutput="variance_weighted"))


def mlp_probe_r2(x: np.ndarray, y: np.ndarray, seed: int, width: int = 256, epochs: int = 60) -> float:
    """As ``linear_probe_r2`` with one hidden layer of ``width`` ReLU units (a small nonlinear probe)."""
    train, test = chunk_split(len(x), seed)
    xs, ys = x[train].reshape(-1, x.shape[-1]), y[train].reshape(-1, y.shape[-1])
    xs_scaler, ys_scaler = StandardScaler().fit(xs), StandardScaler().fit(ys)
    fit = MLPRegressor(hidden_layer_sizes=(width,), alpha=1e-3, max_iter=epochs, early_stopping=False, random_state=seed)
    fit.fit(xs_scaler.transform(xs), ys_scaler.transform(ys))
    xt, yt = x[test].reshape(-1, x.shape[-1]), y[test].reshape(-1, y.shape[-1])
    pred = ys_scaler.inverse_transform(fit.predict(xs_scaler.transform(xt)))
    return float(r2_score(yt, pred, multioutput="variance_weighted"))


# ---------------------------------------------------------------------- experiment 4: emergence
@torch.no_grad()
def political_states(model, tokenizer, texts: list[str], topic_positions: int, suffix_positions: list[int]):
    """Residual streams at the last ``topic_positions`` tokens of each topic sentence and at the chosen
    suffix tokens: array (texts, layers + 1, positions, d_model), plus the relative position labels."""
    suffix = tokenizer(SUFFIX, add_special_tokens=False).input_ids
    states = []
    for text in texts:
        topic = tokenizer(text, add_special_tokens=False).input_ids
        ids = torch.tensor([topic + suffix])
        resid = torch.stack(model(ids, output_hidden_states=True, use_cache=False).hidden_states)[:, 0]
        picks = [len(topic) - k for k in range(topic_positions, 0, -1)] + [len(topic) + p for p in suffix_positions]
        states.append(resid[:, picks].numpy())
    labels = [-k for k in range(topic_positions, 0, -1)] + list(suffix_positions)
    return np.stack(states), labels


def probe_accuracy(x: np.ndarray, labels: np.ndarray, seed: int, folds: int = 4, c: float = 0.1) -> float:
    """Cross-validated accuracy of a logistic probe; ``seed`` decides the (stratified) fold assignment."""
    from sklearn.model_selection import StratifiedKFold

    hits = 0
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, labels):
        scaler = StandardScaler().fit(x[train])
        fit = LogisticRegression(C=c, max_iter=500).fit(scaler.transform(x[train]), labels[train])
        hits += (fit.predict(scaler.transform(x[test])) == labels[test]).sum()
    return hits / len(labels)


def emergence_layer(accuracy_by_layer, threshold: float = EMERGENCE_ACCURACY) -> float:
    """First layer index (0 = embeddings) whose accuracy reaches ``threshold``; NaN if none does."""
    above = np.flatnonzero(np.asarray(accuracy_by_layer) >= threshold)
    return float(above[0]) if above.size else float("nan")


# -------------------------------------------------------------------------- experiment 5: the gate
def near_zero_share(values: torch.Tensor, fraction: float = ERASE_FRACTION) -> float:
    """Share of units whose |value| is under ``fraction`` × that token's RMS over all units."""
    v = values.reshape(-1, values.shape[-1]).double()
    rms = v.pow(2).mean(-1, keepdim=True).sqrt()
    return float((v.abs() < fraction * rms).double().mean())


def gate_erasure(gate: torch.Tensor, up: torch.Tensor) -> dict:
    """Near-zero shares of the gate's output silu(gate(x)), of the ungated up_proj(x), and of their product."""
    gated = torch.nn.functional.silu(gate)
    return {"gate": near_zero_share(gated), "up": near_zero_share(up), "hidden": near_zero_share(gated * up)}


# ---------------------------------------------------------------------------------------- verdicts
def c2_verdict(recompute_rel_error: float, best_readable_r2: float) -> Ruling:
    if recompute_rel_error > ROUNDING_TOLERANCE:
        return Ruling("supported", "the hidden activation could not be recomputed from the FFN input")
    if best_readable_r2 >= RECOVERABLE_R2:
        return Ruling("refuted", "recomputable exactly, and a later token's keys/values predict it held-out")
    return Ruling("nuanced", (f"recomputable exactly from the FFN input (nothing lost in principle), but what the next "
                       f"token reads predicts at most R²={best_readable_r2:.2f} of it (< {RECOVERABLE_R2})"))


def c3_verdict(null_share: dict, isotropic: float) -> Ruling:
    """``null_share``: interval dict (over layers) of the hidden energy share in down_proj's null space."""
    aligned = null_share["high"] < isotropic - ALIGNMENT_MARGIN
    if null_share["low"] > MAJORITY and not aligned:
        return Ruling("supported", f"most hidden energy ({null_share['mean']:.2f}) falls where down_proj cannot write it")
    if null_share["high"] < MAJORITY and aligned:
        return Ruling("refuted", (f"only {null_share['mean']:.2f} of hidden energy is discarded, well under the "
                           f"{isotropic:.3f} of an activation blind to down_proj: the FFN writes most of it out"))
    return Ruling("nuanced", (f"{null_share['mean']:.2f} of hidden energy is discarded (isotropic {isotropic:.3f}, "
                       f"majority line {MAJORITY})"))


def c4_verdict(gated_share: dict, up_share: dict, hidden_layers: int) -> Ruling:
    """Near-zero shares (intervals over layers) of the gated hidden activation and of the ungated up_proj."""
    erases = gated_share["low"] > up_share["high"] + ERASE_MARGIN
    structure = "two hidden layers" if hidden_layers == 2 else f"{hidden_layers} hidden layer(s), gated"
    if erases and hidden_layers == 2:
        return Ruling("supported", "two hidden layers and the gate erases units")
    if erases:
        return Ruling("nuanced", (f"the block has {structure}, not two hidden layers, but the gate drives "
                           f"{gated_share['mean']:.2f} of units near zero vs {up_share['mean']:.2f} without it"))
    return Ruling("refuted", f"{structure}, and the gate adds under {ERASE_MARGIN} near-zero share over up_proj")


def c6_verdict(source_layer: dict, carried_layer: dict, carried_accuracy: dict) -> Ruling:
    """``source_layer``: emergence layer at the topic sentence's last token; ``carried_layer``: at the
    suffix tokens (identical in both classes); ``carried_accuracy``: best accuracy at the suffix tokens."""
    if carried_accuracy["high"] < EMERGENCE_ACCURACY:
        return Ruling("supported", "the feature is not decodable at later tokens: it is not carried forward")
    gap = source_layer["mean"] - carried_layer["mean"]
    if gap >= SHALLOWER_BY:
        return Ruling("refuted", f"later tokens decode it {gap:.1f} layers earlier than the token that first showed it")
    return Ruling("nuanced", (f"later tokens decode it (accuracy {carried_accuracy['mean']:.2f}) from attention alone, "
                       f"at layer {carried_layer['mean']:.1f} vs {source_layer['mean']:.1f} at the source token"))


# ------------------------------------------------------------------ per-layer summaries for the chapter
def null_space_by_layer(model, cap: Capture) -> dict[str, list[dict]]:
    """Per layer: energy share (interval over text chunks) and variance share in down_proj's null space."""
    energy, variance = [], []
    for layer, block in enumerate(model.model.layers):
        basis = row_space_basis(block.mlp.down_proj.weight.detach())
        hidden = cap.hidden[layer]
        energy.append(stats.mean_ci([null_space_share(chunk, basis) for chunk in hidden]))
        variance.append(stats.bootstrap_ci([null_space_share(chunk, basis, center=True) for chunk in hidden]))
    return {"energy": energy, "variance": variance}


def gate_by_layer(cap: Capture) -> dict[str, list[dict]]:
    """Per layer, interval over text chunks of the near-zero share of the gate, the up path and the product."""
    out = {"gate": [], "up": [], "hidden": []}
    for layer in range(len(cap.gate)):
        per_chunk = [gate_erasure(g, u) for g, u in zip(cap.gate[layer], cap.up[layer])]
        for name in out:
            out[name].append(stats.mean_ci([p[name] for p in per_chunk]))
    return out


def probe_r2_by_layer(cap: Capture, layers: list[int], seeds: list[int], mlp_layers: list[int] = ()) -> dict:
    """Held-out R² (interval over chunk splits) of token t−1's hidden activation at each layer, per source,
    plus the shuffled-target floor and, at ``mlp_layers``, a small MLP probe from the residual stream."""
    out: dict[str, dict[int, dict]] = {}
    for layer in layers:
        sources = probe_sources(cap, layer)
        for name, source in sources.items():
            x, y = previous_token_pairs(source, cap.hidden[layer])
            out.setdefault(name, {})[layer] = stats.mean_ci([linear_probe_r2(x, y, s) for s in seeds])
        x, y = previous_token_pairs(cap.resid[layer + 1], cap.hidden[layer])
        out.setdefault("shuffled targets (floor)", {})[layer] = stats.mean_ci(
            [linear_probe_r2(x, y, s, shuffle=True) for s in seeds])
        if layer in mlp_layers:
            out.setdefault("residual stream, MLP probe", {})[layer] = stats.mean_ci(
                [mlp_probe_r2(x, y, s) for s in seeds])
    return out


def emergence_by_position(states: np.ndarray, labels: np.ndarray, layers: list[int], seeds: list[int]) -> dict:
    """Probe accuracy per (position, layer) averaged over fold seeds, and the emergence layer per position
    (interval over seeds; NaN seeds, where the feature never reaches the threshold, are dropped)."""
    accuracy = np.array([[[probe_accuracy(states[:, layer, p], labels, s) for layer in layers] for p in
                          range(states.shape[2])] for s in seeds])  # seeds × positions × layers
    layer_index = np.asarray(layers, dtype=float)
    emergence = []
    for p in range(states.shape[2]):
        found = [layer_index[int(i)] for i in (emergence_layer(a) for a in accuracy[:, p]) if not np.isnan(i)]
        emergence.append(stats.mean_ci(found) if found else None)
    return {"accuracy": accuracy, "emergence": emergence}
