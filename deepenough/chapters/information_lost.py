"""Page ``book/information_lost.md``, claims C2, C3, C4 and C6: what a SwiGLU FFN computes at one token, and what
later tokens can read of it.

SmolLM2's FFN at layer n is ``down(silu(gate(x)) * up(x))`` with ``x`` the RMS-normed residual stream.
The 1536-wide product ``silu(gate(x)) * up(x)`` is the *hidden activation*; a later token never reads
it, only the keys and values that later layers compute from the residual stream.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

from ..lab import ladder, patching, stats, tasks, tiny, train
from ..lab.train import IGNORE
from ..machinery import paths
from ..machinery.results import Table
from ..machinery.rules import Rule, always

# machinery.power is not on the layout test's list of what a chapter may import (reported with #24), so World
# is taken from the module results already loaded it from.
World = importlib.import_module("deepenough.machinery.power").World

COUNTRIES_CSV = paths.chapter_data("information_lost") / "countries.csv"
FIRST_SCORED_POSITION = 4  # the first tokens of a chunk (attention sinks, huge norms) are left out of probes


@dataclass(frozen=True)
class Relation:
    """A fact about a row of the country table that needs two tokens: the ``subject`` column's word, earlier in
    the prompt, and the ``value`` column's word at the source position, the last word before the suffix."""
    name: str
    subject: str
    value: str
    templates: tuple[str, ...]


# C2 and C6 prompts, for three features: is the value true of the subject? Each true prompt has a false twin that
# keeps the value and takes the subject of another country of the same block whose value differs, so no single
# token tells the label: it needs the pair. The third relation needs two hops (city, its country, the language).
# The suffix is the same in every prompt; its last token is the later position whose feature we measure.
LANGUAGE_TEMPLATES = ("The language of {subject} is {value}", "In {subject}, most people speak {value}",
                      "The main language spoken in {subject} is {value}",
                      "As the book says, the language of {subject} is {value}")
RELATIONS = (
    Relation("capital", "country", "capital", (
        "The capital of {subject} is {value}", "Everyone knows that the capital of {subject} is {value}",
        "The capital city of {subject} is {value}", "As the map shows, the capital of {subject} is {value}")),
    Relation("language", "country", "language", LANGUAGE_TEMPLATES),
    Relation("city's language", "capital", "language", LANGUAGE_TEMPLATES),
)
SUFFIX = ". I read about it in a book yesterday and"

# Verdict thresholds (each defended in the chapter's rule section).
# float32 rounds each operation to ~6e-8 relative; sums over 576-1536 terms reach ~1e-6; a real change of
# the activation (another input, another weight) moves it by far more than 1e-5 of its largest value.
ROUNDING_TOLERANCE = 1e-5
# C3: an activation blind to down_proj puts the isotropic share in its null space; it leans toward what down_proj
# writes when its share is under isotropic by more than this margin: 2.5 times the shift a second 4-bit rounding
# gave (0.004 in the first record) and ten times the half-width of the interval over chunks (under 0.001), so a
# lean beyond it is neither the copy's rounding nor the text sampled.
ALIGNMENT_MARGIN = 0.01
MAJORITY = 0.5  # the author's "most of the information": over half the hidden energy
# C4: a unit is near zero when |value| < ERASE_FRACTION x the token's RMS over the 1536 units; the real gate
# erases when its product has at least ERASE_MARGIN more near-zero units than the shuffled-gate control
# (about 77 of 1536 units per token; chunk-to-chunk spread of the share is near 0.01).
ERASE_FRACTION = 0.1
ERASE_MARGIN = 0.05
# C6: share of the later token's feature (and next-token change) carried from the source position's
# computed state. Under a quarter counts as mostly recomputed, over three quarters as mostly read.
RECOMPUTED_BELOW = 0.25
READ_ABOVE = 0.75
# C6 precondition: the feature must be decodable at the later position (held-out accuracy at least this)
# and not from one token's embedding (the layer-0 probe at the source within CHANCE_BAND of one half).
DECODABLE_ACCURACY = 0.8
CHANCE_BAND = 0.1


# ---------------------------------------------------------------------------------------------- text
def stdlib_chunks(tokenizer, n_chunks: int, length: int) -> torch.Tensor:
    """``n_chunks`` token windows of ``length``, evenly spaced through the Python reference manual text
    that ships with the standard library (``pydoc_data.topics``), sorted by topic for determinism."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k] for k in sorted(topics))
    ids = tokenizer(text, return_tensors="pt").input_ids[0]
    starts = np.linspace(0, len(ids) - length, n_chunks).astype(int)
    return torch.stack([ids[s:s + length] for s in starts])


def countries() -> pd.DataFrame:
    return pd.read_csv(COUNTRIES_CSV)


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
    """What token t can read of token t−1 once layer ``layer`` is done (its keys and values at layer n+1),
    and the FFN's own input at layer n: the reference for what a linear reader could recover at all."""
    return {"reference": cap.ffn_in[layer], "read": torch.cat([cap.keys[layer + 1], cap.values[layer + 1]], -1)}


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


def chunk_folds(n_chunks: int, folds: int, seed: int) -> list[np.ndarray]:
    """The chunks split into ``folds`` disjoint held-out groups (the seed shuffles which chunk goes where)."""
    return np.array_split(np.random.default_rng(seed).permutation(n_chunks), folds)


def held_out_r2_per_chunk(x: np.ndarray, y: np.ndarray, folds: int, seed: int, shuffle: bool = False) -> np.ndarray:
    """Held-out R² of a ridge map from ``x`` to ``y`` (both chunks × rows × features), one value per chunk:
    each chunk is scored by a probe trained on the chunks outside its fold (the penalty picked on one of
    those). ``shuffle`` permutes the training targets across rows: the control a probe must beat."""
    flat = lambda a, idx: a[idx].reshape(-1, a.shape[-1]).astype(np.float64)  # noqa: E731
    scores = np.empty(len(x))
    for held in chunk_folds(len(x), folds, seed):
        train = np.setdiff1d(np.arange(len(x)), held)
        xs, ys = flat(x, train), flat(y, train)
        if shuffle:
            ys = ys[np.random.default_rng(seed).permutation(len(ys))]
        scaler = StandardScaler().fit(xs)
        xs = scaler.transform(xs)
        pick = x.shape[1]  # the rows of the first training chunk pick the penalty
        path = RidgePath(xs[pick:], ys[pick:])
        alpha = max(RIDGE_ALPHAS, key=lambda a: r2_score(ys[:pick], path.predict(xs[:pick], a),
                                                           multioutput="variance_weighted"))
        fit = RidgePath(xs, ys)
        for chunk in held:
            prediction = fit.predict(scaler.transform(x[chunk].astype(np.float64)), alpha)
            scores[chunk] = r2_score(y[chunk], prediction, multioutput="variance_weighted")
    return scores


def readable_by_layer(cap: Capture, layers: list[int], folds: int, seed: int) -> dict[str, list]:
    """Per probed layer, intervals over text chunks of the held-out R² of token t−1's hidden activation from
    what token t reads (keys+values at layer n+1), from the FFN input (reference), from the keys+values with
    shuffled training targets (control), and of the read share (``read_share``); ``per_chunk`` keeps the raw
    R² per layer and chunk that C2's rule summarises."""
    out = {"read": [], "reference": [], "shuffled": [], "ratio": [], "per_chunk": {"read": [], "reference": []}}
    for layer in layers:
        sources = probe_sources(cap, layer)
        per = {}
        for name, source in sources.items():
            x, y = previous_token_pairs(source, cap.hidden[layer])
            per[name] = held_out_r2_per_chunk(x, y, folds, seed)
        x, y = previous_token_pairs(sources["read"], cap.hidden[layer])
        per["shuffled"] = held_out_r2_per_chunk(x, y, folds, seed, shuffle=True)
        for name in ("read", "reference", "shuffled"):
            out[name].append(stats.mean_ci(per[name], bounds=(-np.inf, 1.0)))
        out["ratio"].append(read_share(per["read"], per["reference"]))
        for name in ("read", "reference"):
            out["per_chunk"][name].append(per[name])
    return out


def read_share(read: np.ndarray, reference: np.ndarray) -> dict:
    """Mean R² read over mean R² reference, interval over text chunks (a ratio of sums, stable where one
    chunk's reference is near zero)."""
    return cluster_ratio_ci(read, reference, np.arange(len(read)))


def cluster_ratio_ci(numerator, denominator, clusters, bounds: tuple[float, float] | None = None,
                     resamples: int = 2000, seed: int = 0) -> dict:
    """A ratio of sums with a percentile bootstrap that resamples whole clusters (countries, text chunks), ``n``
    the number of clusters: ``stats.cluster_bootstrap_ci`` for a ratio, computed on per-cluster sums because the
    power simulations call it thousands of times. ``bounds`` bound the statistic in every resample, so the
    interval of a bounded share stays inside them."""
    labels = np.unique(np.asarray(clusters), return_inverse=True)[1]
    k = int(labels.max()) + 1
    num = np.bincount(labels, weights=np.asarray(numerator, float), minlength=k)
    den = np.bincount(labels, weights=np.asarray(denominator, float), minlength=k)
    bounded = (lambda r: np.clip(r, *bounds)) if bounds else (lambda r: r)  # noqa: E731
    point = float(bounded(num.sum() / den.sum()))
    picks = np.random.default_rng(seed).integers(0, k, (resamples, k))
    low, high = np.quantile(bounded(num[picks].sum(1) / den[picks].sum(1)), [(1 - stats.LEVEL) / 2,
                                                                             (1 + stats.LEVEL) / 2])
    return {"mean": point, "low": float(min(low, point)), "high": float(max(high, point)), "n": k}


# -------------------------------------------------------------------------- experiment 5: the gate
def near_zero_share(values: torch.Tensor, fraction: float = ERASE_FRACTION) -> float:
    """Share of units whose |value| is under ``fraction`` × that token's RMS over all units."""
    v = values.reshape(-1, values.shape[-1]).double()
    rms = v.pow(2).mean(-1, keepdim=True).sqrt()
    return float((v.abs() < fraction * rms).double().mean())


def shuffled_gate(gate: torch.Tensor, seed: int) -> torch.Tensor:
    """The gate's rows (tokens × units) in a random token order: every unit keeps exactly its values, and
    the gate keeps its joint pattern over units, but each gate vector now meets another token's up_proj."""
    order = torch.randperm(gate.shape[0], generator=torch.Generator().manual_seed(seed))
    return gate[order]


def gate_erasure(gate: torch.Tensor, up: torch.Tensor, seed: int = 0) -> dict:
    """Near-zero shares of silu(gate)·up (the hidden activation), of the same product with the gate shuffled
    across tokens, and of up alone; ``gate``, ``up``: (tokens, units) of one text chunk, before the SiLU."""
    gated = torch.nn.functional.silu(gate.reshape(-1, gate.shape[-1]))
    up = up.reshape(-1, up.shape[-1])
    return {"hidden": near_zero_share(gated * up), "shuffled": near_zero_share(shuffled_gate(gated, seed) * up),
            "up": near_zero_share(up)}


def swiglu_structure(model, cap: Capture) -> dict:
    """Read the FFN's structure from the model: two projections of the same input, of the same width, one
    passed through a nonlinearity and multiplied into the other (a gate), then one projection out."""
    mlp = model.model.layers[0].mlp
    gate, up, down = (getattr(mlp, name, None) for name in ("gate_proj", "up_proj", "down_proj"))
    linear = all(isinstance(m, torch.nn.Linear) for m in (gate, up, down))
    parallel = linear and gate.in_features == up.in_features and gate.out_features == up.out_features
    product = torch.allclose(cap.hidden[0], mlp.act_fn(cap.gate[0]) * cap.up[0]) if linear else False
    return {"parallel": bool(parallel), "gating": bool(product),
            "projections_in": sum(isinstance(m, torch.nn.Linear) and m.in_features == model.config.hidden_size
                                  for m in mlp.children()),
            "hidden_width": up.out_features if linear else 0}


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


def gate_by_layer(cap: Capture, seed: int) -> dict[str, list[dict]]:
    """Per layer, interval over text chunks of the near-zero share of the gated product, the shuffled-gate
    product, up alone, and of the difference real minus shuffled; ``per_chunk``: that difference as a
    (chunks, layers) array, what C4's rule summarises."""
    out = {"hidden": [], "shuffled": [], "up": [], "excess": [], "per_chunk": []}
    for layer in range(len(cap.gate)):
        per_chunk = [gate_erasure(g, u, seed + i) for i, (g, u) in enumerate(zip(cap.gate[layer], cap.up[layer]))]
        for name in ("hidden", "shuffled", "up"):
            out[name].append(stats.mean_ci([p[name] for p in per_chunk], bounds=(0, 1)))
        out["per_chunk"].append([p["hidden"] - p["shuffled"] for p in per_chunk])
        out["excess"].append(stats.mean_ci(out["per_chunk"][-1]))
    out["per_chunk"] = np.array(out["per_chunk"]).T
    return out


def null_share_by_chunk(model, cap: Capture) -> np.ndarray:
    """Per text chunk, the hidden energy share in down_proj's null space averaged over all layers: the
    values an interval over text samples is built from."""
    bases = [row_space_basis(block.mlp.down_proj.weight.detach()) for block in model.model.layers]
    shares = np.array([[null_space_share(chunk, basis) for chunk in cap.hidden[layer]]
                       for layer, basis in enumerate(bases)])
    return shares.mean(0)


def null_projector(down_weight: torch.Tensor) -> torch.Tensor:
    """The orthogonal projector (hidden × hidden) onto down_proj's null space: what the FFN cannot write."""
    basis = row_space_basis(down_weight)
    return torch.eye(basis.shape[0], dtype=basis.dtype) - basis @ basis.T


# --------------------------------------------------------------------- C3: a second 4-bit rounding
QUANT_BLOCK = 32  # weights per block in GGUF's Q4_0/Q4_1 formats


def quantize_q4_1(weight: torch.Tensor, offset: int = 0) -> torch.Tensor:
    """Round a weight matrix as GGML's Q4_1 does (``gguf.quants``, the reference the GGUF format ships: blocks of
    QUANT_BLOCK consecutive weights along each row, 4-bit integers 0..15 with a per-block scale and minimum stored
    in float16); returns the de-quantized float copy.

    ``offset`` shifts the block grid along the row (cyclically). A matrix already rounded on the grid is
    left unchanged by rounding on the same grid, so a second round of matched size needs a shifted one."""
    from gguf import GGMLQuantizationType, quants

    shifted = torch.roll(weight, -offset, 1).float().numpy()
    rounded = quants.dequantize(quants.quantize(shifted, GGMLQuantizationType.Q4_1), GGMLQuantizationType.Q4_1)
    return torch.roll(torch.from_numpy(rounded), offset, 1).to(weight.dtype)


@torch.no_grad()
def requantize(model) -> int:
    """Give every projection weight of every block (attention and FFN) a second round of Q4_1 rounding, in
    place, on a block grid shifted by half a block (the model's own grid would leave its weights as they
    are); returns how many matrices were rounded."""
    count = 0
    for module in model.model.layers.modules():
        if isinstance(module, torch.nn.Linear) and module.in_features % QUANT_BLOCK == 0:
            module.weight.copy_(quantize_q4_1(module.weight, offset=QUANT_BLOCK // 2))
            count += 1
    return count


# ------------------------------------------------------------------ C2 and C6: causal tracing
@dataclass
class RelationPrompts:
    """Token ids of every prompt of one relation and template: true and false (the false twin), with the
    position of the value (the source) and of the last token (the later position)."""
    relation: str
    template: int
    true: torch.Tensor  # (items, tokens)
    false: torch.Tensor
    source: int
    later: int
    block: np.ndarray  # (items,) country block, for held-out folds
    country: np.ndarray  # (items,) the country row of the table: the independent unit, templates nest in it


def _encode(tokenizer, template: str, subject: str, value: str) -> list[int]:
    return tokenizer(template.format(subject=subject, value=value), add_special_tokens=False).input_ids


def false_subject(mates: pd.DataFrame, own: int, shift: int, relation: Relation) -> str:
    """The subject ``shift`` rows before ``own`` in its block, or the next one back whose value differs."""
    for step in range(shift, shift + len(mates)):
        other = mates.iloc[(own - step) % len(mates)]
        if other[relation.value] != mates.iloc[own][relation.value]:
            return other[relation.subject]
    raise ValueError(f"every row of the block has the same {relation.value}")


def relation_prompts(tokenizer, table: pd.DataFrame, relation: Relation, templates: list[int]) -> list[RelationPrompts]:
    """For each template and country, the true prompt and its false twin (the template's index sets the shift,
    so every template pairs other subjects)."""
    suffix = tokenizer(SUFFIX, add_special_tokens=False).input_ids
    out = []
    for shift, t in enumerate(templates, start=1):
        true, false = [], []
        for _, row in table.iterrows():
            mates = table[table.block == row.block].reset_index(drop=True)
            own = int(np.flatnonzero(mates.country == row.country)[0])
            value, template = row[relation.value], relation.templates[t]
            true.append(_encode(tokenizer, template, row[relation.subject], value) + suffix)
            false.append(_encode(tokenizer, template, false_subject(mates, own, shift, relation), value) + suffix)
        if len({len(x) for x in true + false}) != 1:
            raise ValueError("every subject and value must be one token, so the prompts of a template align")
        source = len(true[0]) - len(suffix) - 1
        out.append(RelationPrompts(relation.name, t, torch.tensor(true), torch.tensor(false), source,
                                   len(true[0]) - 1, table.block.to_numpy(), np.arange(len(table))))
    return out


def hidden_at(model, ids: torch.Tensor, position: int) -> torch.Tensor:
    """The FFN hidden activation (input of down_proj) of every layer at ``position``: (layers, items, 1536)."""
    store = []
    handles = [layer.mlp.down_proj.register_forward_pre_hook(
        lambda module, args: store.append(args[0][:, position].detach())) for layer in model.model.layers]
    try:
        with torch.no_grad():
            model(ids, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    return torch.stack(store)


def balanced_probe(train_x: np.ndarray, train_y: np.ndarray, c: float = 0.05):
    """Standardize, then an L2 logistic probe; returns a function giving the decision value (logit)."""
    scaler = StandardScaler().fit(train_x)
    fit = LogisticRegression(C=c, max_iter=1000).fit(scaler.transform(train_x), train_y)
    return lambda x: fit.decision_function(scaler.transform(x))


def block_cv_decisions(true_x: np.ndarray, false_x: np.ndarray, block: np.ndarray, *others: np.ndarray):
    """Held-out probe decisions: for each block, a probe trained on the other blocks' true (1) and false (0)
    rows, applied to this block's rows of ``true_x``, ``false_x`` and each array in ``others`` (same rows).
    No country or city of a test block is ever seen in training."""
    outs = [np.empty(len(true_x)) for _ in range(2 + len(others))]
    for b in np.unique(block):
        train, test = block != b, block == b
        probe = balanced_probe(np.concatenate([true_x[train], false_x[train]]),
                               np.r_[np.ones(train.sum()), np.zeros(train.sum())])
        for out, x in zip(outs, (true_x, false_x, *others)):
            out[test] = probe(x[test])
    return outs


def probe_hits(true_x: np.ndarray, false_x: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Whether the held-out (block-fold) true-vs-false probe gets each row right: true rows, then false rows."""
    d_true, d_false = block_cv_decisions(true_x, false_x, block)
    return np.r_[d_true > 0, d_false <= 0].astype(float)


def accuracy_over_countries(hits: np.ndarray, country: np.ndarray) -> dict:
    """Share of ``hits`` (true rows, then false rows) with an interval that resamples countries: the templates
    and both prompts of one country are one unit."""
    return cluster_ratio_ci(hits, np.ones(len(hits)), np.tile(country, 2))


def probe_accuracy(true_x: np.ndarray, false_x: np.ndarray, block: np.ndarray, country: np.ndarray) -> dict:
    """Held-out (block-fold) accuracy of the true-vs-false probe, interval over countries."""
    return accuracy_over_countries(probe_hits(true_x, false_x, block), country)


@torch.no_grad()
def trace(model, prompts: list[RelationPrompts], from_indices: list[int]) -> dict:
    """Causal tracing of the source (value) position, counterfactual: the false prompt.

    For every template: the clean (true) and counterfactual residual streams; for each ``m`` in
    ``from_indices``, the true prompt again with the source's residual at indices m and above taken from
    the counterfactual run; and the true prompt with only the source's FFN outputs taken from the
    counterfactual run. Returns per-item arrays of the later position's residuals (clean, counterfactual,
    patched at each m, FFN-swapped), its next-token log-probabilities, the source's residuals and FFN hidden
    activations, and block and country labels."""
    keys = ("later", "later_cf", "later_patched", "later_ffn", "lp", "lp_cf", "lp_patched", "source", "source_cf",
            "hidden", "hidden_cf")
    out = {key: [] for key in keys}
    for p in prompts:
        clean, clean_logits = patching.residuals(model, p.true)
        cf, cf_logits = patching.residuals(model, p.false)
        rows, values = torch.full((len(p.true),), p.source), cf[:, :, p.source]
        patched, patched_lp = [], []
        for m in from_indices:
            start = clean[m].clone()
            start[:, p.source] = values[m]
            states, logits = patching.run_from(model, start, m, rows, values,
                                               logit_positions=torch.full((len(p.true),), p.later))
            # below m the later token is clean
            patched.append(torch.cat([clean[:m, :, p.later], states[:, :, p.later]]))
            patched_lp.append(torch.log_softmax(logits.double(), -1))
        swapped, _ = patching.residuals_with_ffn_outputs(model, p.true, p.source,
                                                         patching.ffn_outputs(model, p.false, p.source))
        for key, value in (("later", clean[:, :, p.later]), ("later_cf", cf[:, :, p.later]),
                           ("later_patched", torch.stack(patched)), ("later_ffn", swapped[:, :, p.later]),
                           ("lp", torch.log_softmax(clean_logits[:, p.later].double(), -1)),
                           ("lp_cf", torch.log_softmax(cf_logits[:, p.later].double(), -1)),
                           ("lp_patched", torch.stack(patched_lp)), ("source", clean[:, :, p.source]),
                           ("source_cf", cf[:, :, p.source]), ("hidden", hidden_at(model, p.true, p.source)),
                           ("hidden_cf", hidden_at(model, p.false, p.source))):
            out[key].append(value)
    item_axis = {"lp": 0, "lp_cf": 0, "lp_patched": 1, "later_patched": 2}
    traced = {key: torch.cat(out[key], item_axis.get(key, 1)).numpy() for key in keys}
    return {**traced, "block": np.concatenate([p.block for p in prompts]),
            "country": np.concatenate([p.country for p in prompts]), "from": list(from_indices)}


def hits_by_layer(true_states: np.ndarray, false_states: np.ndarray, block: np.ndarray, layers) -> list[np.ndarray]:
    """Per residual index in ``layers``, whether the held-out true-vs-false probe gets each row right."""
    return [probe_hits(true_states[k], false_states[k], block) for k in layers]


def carried_share(moved: np.ndarray, change: np.ndarray, country: np.ndarray) -> dict:
    """The share of the full change that the patch moves, bounded to [0, 1], interval over countries."""
    return cluster_ratio_ci(moved, change, country, bounds=(0.0, 1.0))


def first_index(reached: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Per column of ``reached`` (rows: ``indices`` in order), the first index where it holds; NaN where never."""
    return np.where(reached.any(0), indices[reached.argmax(0)], np.nan)


def reading_lag(source_hits: np.ndarray, moved: np.ndarray, change: np.ndarray, country: np.ndarray,
                from_indices: list[int], resamples: int = 2000, seed: int = 0) -> dict:
    """From the residual index where the feature becomes decodable at the source (held-out accuracy at least
    DECODABLE_ACCURACY; ``source_hits`` per index, true rows then false rows) to the first patch index from
    which the source's state carries under half of the later token's feature (``moved`` per patch index): by
    then the later token has read it. Percentile bootstrap over countries; NaN where either never happens."""
    labels = np.unique(country, return_inverse=True)[1]
    k = int(labels.max()) + 1
    hits = np.stack([np.bincount(np.tile(labels, 2), weights=h, minlength=k) for h in source_hits])
    rows = np.bincount(np.tile(labels, 2), minlength=k)
    moved_k = np.stack([np.bincount(labels, weights=m, minlength=k) for m in moved])
    change_k = np.bincount(labels, weights=change, minlength=k)

    def lags(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # weights: (resamples, countries)
        emerged = first_index(hits @ weights.T / (rows @ weights.T) >= DECODABLE_ACCURACY,
                              np.arange(len(source_hits)))
        read = first_index((moved_k @ weights.T) / (change_k @ weights.T) < 0.5, np.asarray(from_indices))
        return emerged, read

    emerged, read = (x[0] for x in lags(np.ones((1, k))))
    picks = np.random.default_rng(seed).integers(0, k, (resamples, k))
    weights = np.stack([np.bincount(p, minlength=k) for p in picks]).astype(float)
    emerged_each, read_each = lags(weights)
    lag = read_each - emerged_each
    low, high = (np.nanquantile(lag, [(1 - stats.LEVEL) / 2, (1 + stats.LEVEL) / 2])
                 if np.isfinite(lag).any() else (np.nan, np.nan))
    point = float(read - emerged)
    return {"emerged": float(emerged), "read": float(read), "mean": point, "low": float(np.fmin(low, point)),
            "high": float(np.fmax(high, point)), "defined": float(np.isfinite(lag).mean()), "n": k}


@dataclass
class Feature:
    """What causal tracing tells about one relation's feature; intervals are over countries."""
    name: str
    source_accuracy: list[dict]  # held-out probe accuracy at the source, per residual index
    later_accuracy: list[dict]  # the same at the later token
    probe_index: int  # the residual index where the later token's probe is read (its most accurate)
    carried: list[dict]  # share of the later token's feature carried by the source's state from index m up
    behaviour: list[dict]  # the same for its next-token log-probabilities
    ffn: dict  # share carried by the source's FFN outputs alone
    lag: dict  # reading_lag
    raw: dict  # per-prompt arrays the C2 and C6 rules summarise


def read_feature(name: str, traced: dict) -> Feature:
    """Probe, patch-share and lag readings of one relation's trace. The later token's probe is trained on clean
    runs of the other blocks and applied to the patched runs; a share is the patched change of its decision
    over the full clean-to-counterfactual change."""
    if traced["from"][0] != 0:
        raise ValueError("the rules read the patch from the embedding up: from_indices must start at 0")
    block, country = traced["block"], traced["country"]
    indices = range(len(traced["later"]))
    source_hits = hits_by_layer(traced["source"], traced["source_cf"], block, indices)
    later_hits = hits_by_layer(traced["later"], traced["later_cf"], block, indices)
    later_accuracy = [accuracy_over_countries(h, country) for h in later_hits]
    index = int(np.argmax([a["mean"] for a in later_accuracy]))
    d_clean, d_cf, d_ffn, *d_patched = block_cv_decisions(
        traced["later"][index], traced["later_cf"][index], block, traced["later_ffn"][index],
        *traced["later_patched"][:, index])
    change, moved = d_clean - d_cf, [d_clean - d for d in d_patched]
    lp_change = traced["lp_cf"] - traced["lp"]
    behaviour = [carried_share(((lp - traced["lp"]) * lp_change).sum(-1), (lp_change ** 2).sum(-1), country)
                 for lp in traced["lp_patched"]]
    return Feature(name, [accuracy_over_countries(h, country) for h in source_hits], later_accuracy, index,
                   [carried_share(m, change, country) for m in moved], behaviour,
                   carried_share(d_clean - d_ffn, change, country),
                   reading_lag(np.array(source_hits), np.array(moved), change, country, traced["from"]),
                   {"name": name, "embedding_hits": source_hits[0], "later_hits": later_hits[index], "moved": moved[0],
                    "ffn_moved": d_clean - d_ffn, "change": change, "country": country})


def null_row_probe(traced: dict, layers: list[int], model) -> dict[str, list[dict]]:
    """Held-out accuracy of the true-vs-false probe at the source from the FFN hidden activation's null-space
    part (what down_proj discards) and its row-space part (what it can write), per layer."""
    out = {"null": [], "row": [], "whole": []}
    for layer in layers:
        projector = null_projector(model.model.layers[layer].mlp.down_proj.weight.detach()).numpy()
        h, h_cf = traced["hidden"][layer].astype(np.float64), traced["hidden_cf"][layer].astype(np.float64)
        block, country = traced["block"], traced["country"]
        out["null"].append(probe_accuracy(h @ projector, h_cf @ projector, block, country))
        out["row"].append(probe_accuracy(h - h @ projector, h_cf - h_cf @ projector, block, country))
        out["whole"].append(probe_accuracy(h, h_cf, block, country))
    return out


# C3's incremental probe reads a feature the residual tells (accuracy at least FLOOR) without telling it all
# (under CEILING): a probe at chance has nothing to build on, one near 1 leaves nothing to add.
FLOOR, CEILING = 0.5 + CHANCE_BAND, 0.9


def incremental_probe(traced: dict[str, dict], layers: list[int], model) -> dict:
    """Does the null-space part of the source's FFN hidden activation (what down_proj discards) tell the feature
    beyond the residual stream after that layer (everything the layers above and the later tokens can read)?

    Accuracy of a probe on the residual against one on the residual and the null-space part together. The
    feature and layer are chosen on the countries of blocks 0 and 1 (the largest gain among those whose residual
    probe is between FLOOR and CEILING there) and measured on blocks 2 and 3, each half with its own block folds, so
    choosing among many pairs does not inflate the number read. Interval over countries."""
    def hits(tr, layer, rows, with_null):
        x, x_cf = tr["source"][layer + 1][rows].astype(np.float64), tr["source_cf"][layer + 1][rows].astype(np.float64)
        if with_null:
            projector = null_projector(model.model.layers[layer].mlp.down_proj.weight.detach()).numpy()
            x = np.hstack([x, tr["hidden"][layer][rows] @ projector])
            x_cf = np.hstack([x_cf, tr["hidden_cf"][layer][rows] @ projector])
        return probe_hits(x, x_cf, tr["block"][rows])

    candidates = []
    for name, tr in traced.items():
        choose = tr["block"] < 2
        for layer in layers:
            alone, both = hits(tr, layer, choose, False).mean(), hits(tr, layer, choose, True).mean()
            if FLOOR <= alone < CEILING:
                candidates.append((both - alone, name, layer, alone))
    if not candidates:
        return {"candidates": 0}
    _, name, layer, chosen_alone = max(candidates)
    tr = traced[name]
    measure = tr["block"] >= 2
    alone, both = hits(tr, layer, measure, False), hits(tr, layer, measure, True)
    clusters = np.tile(tr["country"][measure], 2)
    return {"candidates": len(candidates), "feature": name, "layer": layer, "chosen_alone": float(chosen_alone),
            "alone": accuracy_over_countries(alone, tr["country"][measure]),
            "both": accuracy_over_countries(both, tr["country"][measure]),
            "gain": cluster_ratio_ci(both - alone, np.ones(len(alone)), clusters, bounds=(-1.0, 1.0))}


# ---------------------------------------------------------------------------------------- verdicts
# Each claim's table reads a summary of raw measurements (per text chunk, per prompt); the page computes the
# summary from the real ones, and the worlds at the end of the module draw raw measurements at each profile's
# counts to give the power of every outcome.

# C2 and C6 read the same causal tracing, one share per feature (interval over countries). A feature is testable
# when the layer-0 probe at the source is at chance (the value token is the same in both runs, so only
# composition can tell the label) and the later token decodes it. The verdict is scoped to the testable
# features: one outcome when every one of them lands on it, nuanced when each is decided but not all alike.
def feature_shares(raw: dict, moved: str) -> list[dict]:
    """Per feature of ``raw["features"]``: its preconditions and the share of the later token's feature that
    the ``moved`` patch carries."""
    out = []
    for f in raw["features"]:
        embedding, later = float(np.mean(f["embedding_hits"])), float(np.mean(f["later_hits"]))
        share = carried_share(f[moved], f["change"], f["country"])
        out.append({"name": f["name"], "embedding_accuracy": embedding, "later_accuracy": later,
                    "testable": abs(embedding - 0.5) <= CHANCE_BAND and later >= DECODABLE_ACCURACY,
                    "share_mean": share["mean"], "share_low": share["low"], "share_high": share["high"]})
    return out


def scoped_counts(features: list[dict], below: float, above: float) -> dict:
    """How many testable features have their share's interval under ``below``, over ``above``, or inside both."""
    testable = [f for f in features if f["testable"]]
    return {"features": features, "testable": len(testable),
            "below": sum(f["share_high"] < below for f in testable),
            "above": sum(f["share_low"] > above for f in testable),
            "between": sum(f["share_low"] >= below and f["share_high"] <= above for f in testable)}


def scoped_rules(below: float, above: float, words: dict[str, str]) -> tuple[Rule, ...]:
    """The five rows C2 and C6 share; ``words`` says what a share under ``below`` and over ``above`` means."""
    decided = lambda v: v["below"] + v["above"] + v["between"] == v["testable"]  # noqa: E731
    return (
        Rule("not testable here", f"no feature passes both preconditions: layer-0 accuracy at the source within "
             f"0.5 ± {CHANCE_BAND:g} (no single token tells it) and held-out accuracy at the later token at least "
             f"{DECODABLE_ACCURACY:g} (it reaches the later token)", lambda v: v["testable"] == 0),
        Rule(words["below_outcome"], f"for every testable feature the share's interval is under {below:g}: "
             f"{words['below']}", lambda v: v["below"] == v["testable"]),
        Rule(words["above_outcome"], f"for every testable feature the share's interval is over {above:g}: "
             f"{words['above']}", lambda v: v["above"] == v["testable"]),
        Rule("nuanced", f"every testable feature's interval is clear of both lines ({below:g} and {above:g}), but "
             f"they are not all under the lower line and not all over the upper one: {words['between']}", decided),
        Rule("inconclusive", f"some testable feature's interval straddles one of the two lines, {below:g} and "
             f"{above:g}: more countries would decide", always),
    )


# C2. Lost in principle is settled before any data: the hidden activation is a deterministic function of the
# FFN's stored input, so recomputing it is exact in any deterministic network. The page shows that bound; the
# rows decide the author's practical sense, whether a later token uses what an earlier token's FFNs concluded
# or has to redo it: the share of the later token's feature that swapping only the source's FFN outputs (every
# layer, from the false prompt) carries. Over half: the later token mostly reuses those conclusions; under a
# quarter: it does not use them.
REUSED_ABOVE = 0.5
C2_RULES = scoped_rules(RECOMPUTED_BELOW, REUSED_ABOVE, {
    "below_outcome": "supported", "below": "the later token's feature barely follows what the earlier token's FFNs "
    "concluded: it does not reuse those conclusions",
    "above_outcome": "refuted", "above": "most of the later token's feature follows what the earlier token's FFNs "
    "concluded: it reuses their conclusions, through the residual stream they write to, rather than redoing them",
    "between": "part of the later token's feature follows the earlier token's FFN conclusions, the rest comes from "
    "elsewhere at that position (its attention)"})


def c2_summary(raw: dict, design: dict) -> dict:
    """``raw["features"]``: per feature, per-prompt probe changes (see ``Feature.raw``)."""
    return scoped_counts(feature_shares(raw, "ffn_moved"), RECOMPUTED_BELOW, REUSED_ABOVE)


# C3: the author says most of a wide FFN's information is discarded; the commenter that the network is
# trained to write out what matters. The null-space energy share (interval over text chunks) against one
# half, and against the share of an activation blind to down_proj, decides. What the discarded part decodes
# is shown beside it and not counted: it is a projection of the same activation, and down_proj sends it to
# zero whatever it carries. A second 4-bit rounding that could move the share across a line means the 4-bit
# copy could have decided it.
C3_RULES = (
    Rule("inconclusive", "a second round of 4-bit rounding moves the null-space share by at least the distance "
         f"from its interval to the line {ALIGNMENT_MARGIN:g} under the isotropic share: the 4-bit copy could "
         "decide the verdict; the original weights would", lambda v: v["quant_shift"] >= v["line_distance"]),
    Rule("refuted", f"under {MAJORITY:g} of the hidden energy lies in down_proj's null space (interval below it): "
         "most of it is written out", lambda v: v["share_high"] < MAJORITY),
    Rule("supported", f"over {MAJORITY:g} of the hidden energy lies in the null space and the share is not under "
         f"the isotropic one by {ALIGNMENT_MARGIN:g} (interval above both lines): most is discarded, and the "
         "activation does not lean toward what down_proj writes",
         lambda v: v["share_low"] > MAJORITY and v["share_low"] > v["line"]),
    Rule("nuanced", f"over {MAJORITY:g} of the hidden energy lies in the null space, but the share is more than "
         f"{ALIGNMENT_MARGIN:g} under the isotropic one (interval below that line): the activation leans toward "
         "what down_proj writes, as training to write out what matters would make it, while most of its energy "
         "is still discarded", lambda v: v["share_low"] > MAJORITY and v["share_high"] < v["line"]),
    Rule("inconclusive", f"the share's interval straddles {MAJORITY:g}: more text would decide whether most of the "
         "energy is discarded", lambda v: v["share_low"] <= MAJORITY),
    Rule("inconclusive", f"over {MAJORITY:g} of the energy lies in the null space, but the share's interval straddles "
         f"the line {ALIGNMENT_MARGIN:g} under the isotropic share: more text would decide whether the activation "
         "leans toward what down_proj writes", always),
)


def c3_summary(raw: dict, design: dict) -> dict:
    """``raw``: per text chunk, the null-space energy share averaged over layers (``share``) and the same after a
    second 4-bit rounding (``requantized``); ``isotropic``: the share of an activation blind to down_proj."""
    share = stats.mean_ci(raw["share"], bounds=(0, 1))
    line = raw["isotropic"] - ALIGNMENT_MARGIN
    return {"share_mean": share["mean"], "share_low": share["low"], "share_high": share["high"],
            "isotropic": raw["isotropic"], "line": line,
            "quant_shift": float(abs(np.mean(raw["requantized"]) - np.mean(raw["share"]))),
            "line_distance": max(share["low"] - line, line - share["high"], 0.0)}


# C4: that the block is two parallel projections, one gating the other, is a fact of every SwiGLU, read from
# the modules and shown on the page, not counted. The rows decide whether the gate actually erases: whether the
# real gate leaves more units near zero than the same gate values shuffled across tokens (which keep every
# unit's values and break only the pairing with up_proj). The layer is chosen on the even-numbered text chunks
# (the largest excess there) and measured on the odd-numbered ones, so picking the best of 30 layers does
# not inflate the interval the rule reads.
C4_RULES = (
    Rule("supported", f"in the layer where the real gate leaves the most units near zero beyond the shuffled gate "
         f"on one half of the text chunks, the other half's interval of that excess is at least {ERASE_MARGIN:g}: "
         "the gate selectively erases", lambda v: v["excess_low"] >= ERASE_MARGIN),
    Rule("nuanced", f"even in the layer chosen on one half of the chunks, the other half's interval of the excess "
         f"stays under {ERASE_MARGIN:g}: the gate every SwiGLU has scales, it does not selectively erase",
         lambda v: v["excess_high"] < ERASE_MARGIN),
    Rule("inconclusive", f"the chosen layer's interval straddles {ERASE_MARGIN:g}: more text chunks would decide",
         always),
)


def c4_summary(raw: dict, design: dict) -> dict:
    """``raw["excess"]``: (chunks, layers) near-zero share of the real product minus the shuffled-gate product."""
    excess = np.asarray(raw["excess"])
    choose, measure = excess[0::2], excess[1::2]
    layer = int(np.argmax(choose.mean(0)))
    held = stats.mean_ci(measure[:, layer])
    return {"layer": layer, "excess_mean": held["mean"], "excess_low": held["low"], "excess_high": held["high"],
            "chosen_on": len(choose), "measured_on": len(measure)}


# C6: the author says layer n at a later token decides the feature from scratch; the second commenter that it
# is there for attention to read. The share of the later token's feature carried by the source position's
# computed state (patched from the counterfactual at every layer, m = 0, with the value token itself the same
# in both runs) measures read against recomputed.
C6_RULES = scoped_rules(RECOMPUTED_BELOW, READ_ABOVE, {
    "below_outcome": "supported", "below": "patching the source's whole computed state barely changes the later "
    "token's feature: later tokens mostly recompute it from the raw tokens",
    "above_outcome": "refuted", "above": "later tokens read the feature from the source, they do not recompute it",
    "between": "part is read from the source, part recomputed"})


def c6_summary(raw: dict, design: dict) -> dict:
    """``raw["features"]``: per feature, per-prompt probe changes (see ``Feature.raw``)."""
    return scoped_counts(feature_shares(raw, "moved"), RECOMPUTED_BELOW, READ_ABOVE)


# ------------------------------------------------------------------------- experiment 6: width sweep
# The commenter's counter to C3: the FFN is wide because it stores knowledge. Tiny one-layer Llama blocks at a
# fixed residual width, FFN hidden width from narrow to very wide, trained from scratch on two tasks
# separately: a random fact table (storage) and S3 running products labelled at every position (serial
# computation, the lab's state-tracking task). One layer: the wide-and-shallow shape the author argues about.
FACT_FIRST, FACT_LAST, FACT_VALUES = 24, 24, 8  # names are (first, last) pairs; each pair has a random value


def fact_table(seed: int, first: int = FACT_FIRST, last: int = FACT_LAST, values: int = FACT_VALUES):
    """Every (first, last) name pair as a sequence ``start first last value``, the value (random per pair, the
    seed picks the table) scored at the ``last`` position. Tokens: first names 0..first-1, last names next, values
    next, the start token last. No single token tells the value: storing the table needs the pair."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    f, g = torch.meshgrid(torch.arange(first), torch.arange(last), indexing="ij")
    value = torch.randint(0, values, (first * last,), generator=gen)
    start = first + last + values
    ids = torch.stack([torch.full_like(value, start), f.flatten(), first + g.flatten(), first + last + value], 1)
    targets = torch.full_like(ids, IGNORE)
    targets[:, 2] = ids[:, 3]
    return ids, targets, start + 1


def table_batches(ids: torch.Tensor, targets: torch.Tensor, batch: int):
    """Batch maker for ``train.train``: ``batch`` rows of the table drawn at random each step."""
    def make(gen: torch.Generator):
        rows = torch.randint(0, len(ids), (batch,), generator=gen)
        return ids[rows], targets[rows]
    return make


# A storage model's recall of its table is the capacity measured, so its positive control asks only that
# training took: recall at least twice chance (a model at chance stored nothing, and its zero reads no
# capacity). An S3 model must learn its training length (train.LEARNED on fresh chains) before its k* counts.
STORED = 2 / FACT_VALUES
S3_HELD_OUT_SEED = 20_000  # fresh S3 chains for the positive control, apart from every training stream


def storage_run(d_model: int, d_ff: int, seed: int, steps: int, batch: int = 256, lr: float = 3e-3) -> dict:
    """Train on the fact table; the share of its facts recalled (the table is the test: this measures storage)."""
    ids, targets, vocab = fact_table(seed)
    model = tiny.llama(vocab, d_model, 1, seed=seed, max_len=8, d_ff=d_ff)
    log = train.train(model, table_batches(ids, targets, batch), steps, seed=seed, lr=lr)
    control = train.positive_control(model, (ids, targets), 1 / FACT_VALUES, STORED, at="the fact table trained on")
    return {"d_ff": d_ff, "seed": seed, "recalled": control["accuracy"], "facts": len(ids), "seconds": log.seconds,
            "ffn_params": 3 * d_model * d_ff, "control": control}


def s3_control(model, length: int) -> dict:
    """Did an S3 model learn its training length? Accuracy on fresh chains of ``length`` (every position)."""
    held_out = tasks.group_task(ladder.SAMPLES, length, "s3")(torch.Generator().manual_seed(S3_HELD_OUT_SEED))
    return train.positive_control(model, held_out, 1 / len(tasks.group_elements("s3")), at=f"S3 chains of {length}")


def computation_run(d_model: int, d_ff: int, seed: int, steps: int, length: int, batch: int = 64,
                    lr: float = 3e-3) -> dict:
    """Train on S3 running products (every position labelled); k* = longest chain tracked at ``ladder.TRACKED``."""
    model = tiny.llama(tasks.group_vocab("s3"), d_model, 1, seed=seed, max_len=2 * length + 8, d_ff=d_ff)
    log = train.train(model, tasks.group_task(batch, length, "s3"), steps, seed=seed, lr=lr)
    acc = ladder.accuracy_by_chain(model, "s3", length)
    return {"d_ff": d_ff, "seed": seed, "accuracy": acc, "k_star": ladder.longest_tracked(acc),
            "mean_accuracy": float(acc.mean()), "seconds": log.seconds, "control": s3_control(model, length)}


def width_sweep(d_model: int, widths: list[int], seeds: list[int], storage_steps: int, computation_steps: int,
                length: int, lr: float = 1e-2) -> list[dict]:
    """Both tasks at every FFN width and seed: one row per (width, seed), with each model's positive control."""
    rows = []
    for seed in seeds:
        for d_ff in widths:
            stored = storage_run(d_model, d_ff, seed, storage_steps, batch=len(fact_table(seed)[0]), lr=lr)
            computed = computation_run(d_model, d_ff, seed, computation_steps, length, lr=lr)
            rows.append({"d_ff": d_ff, "seed": seed, "recalled": stored["recalled"], "facts": stored["facts"],
                         "k_star": computed["k_star"], "s3_accuracy": computed["accuracy"],
                         "storage_control": stored["control"], "s3_control": computed["control"],
                         "storage_learned": stored["control"]["learned"], "s3_learned": computed["control"]["learned"],
                         "seconds": stored["seconds"] + computed["seconds"]})
    return rows


# k* = 1 is copying the first element; k* = 2 is one product of two elements, a lookup in the group's table
# (36 pairs for S3) that a one-layer model can store; only the chain beyond it composes products in series.
FIRST_PRODUCT = 2


def serial_steps(k_star) -> np.ndarray:
    """Products composed in series beyond the first one: max(k* - FIRST_PRODUCT, 0)."""
    return np.maximum(np.asarray(k_star) - FIRST_PRODUCT, 0)


def sweep_summary(rows: list[dict], length: int) -> dict:
    """Per width, intervals over seeds of the share of facts recalled, of k* and of serial steps, over every model
    trained (for the figure; the rule reads only models that learned, through ``width_summary``), and how many
    models learned each task."""
    widths = sorted({r["d_ff"] for r in rows})
    at = lambda w, key: np.array([r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["d_ff"] == w])  # noqa: E731
    return {"widths": widths,
            "recalled": [stats.mean_ci(at(w, "recalled"), bounds=(0, 1)) for w in widths],
            "k_star": [stats.mean_ci(at(w, "k_star"), bounds=(0, length)) for w in widths],
            "serial": [stats.mean_ci(serial_steps(at(w, "k_star")), bounds=(0, length)) for w in widths],
            "storage_learned": [int(at(w, "storage_learned").sum()) for w in widths],
            "s3_learned": [int(at(w, "s3_learned").sum()) for w in widths]}


# The commenter's counter to C3 ("wide because it has to store a lot of knowledge"), decided on the width sweep.
# STORAGE_GAIN: a tenth of the table is the smallest gain we call storage (seed-to-seed spread of the share
# recalled at one width is about five hundredths). COMPUTATION_GAIN: one more serial step (k* beyond the first
# product), the smallest change k* can make; the first product itself is a pair lookup, storage, so a wide
# model learning it does not count as computing more. SATURATED: a narrowest model recalling this much leaves
# no room to show a gain. MIN_PAIRS: an interval over seeds needs three (stats.mean_ci refuses two).
STORAGE_GAIN = 0.1
COMPUTATION_GAIN = 1
SATURATED = 0.95
MIN_PAIRS = 3
WIDTH_RULES = (
    Rule("inconclusive", f"fewer than {MIN_PAIRS} seeds whose narrowest and widest storage models both took their "
         f"training (recall at least {STORED:g}, twice chance): the storage comparison would read models that "
         "did not learn", lambda v: v["storage_pairs"] < MIN_PAIRS),
    Rule("not testable here", f"the narrowest FFN already recalls at least {SATURATED:g} of the fact table "
         "(interval over seeds above it): the table is too small for width to show",
         lambda v: v["narrow_low"] >= SATURATED),
    Rule("refuted", f"facts recalled rise by less than {STORAGE_GAIN:g} from the narrowest to the widest FFN "
         "(interval over seeds below it): width does not buy storage here", lambda v: v["storage_high"] < STORAGE_GAIN),
    Rule("inconclusive", f"fewer than {MIN_PAIRS} seeds whose narrowest and widest S3 models both learned their "
         f"training length (held-out accuracy at least {train.LEARNED:g}): the serial-step comparison would read "
         "models that did not learn; training until they do would decide",
         lambda v: v["computation_pairs"] < MIN_PAIRS),
    Rule("supported", f"from the narrowest to the widest FFN the share of facts recalled rises by at least "
         f"{STORAGE_GAIN:g} (interval over seeds above it) while the serial steps tracked (k* beyond the first "
         f"product) rise by less than {COMPUTATION_GAIN:g} (interval below it): width buys storage, not serial steps",
         lambda v: v["storage_low"] >= STORAGE_GAIN and v["computation_high"] < COMPUTATION_GAIN),
    Rule("nuanced", f"width buys both: facts recalled rise by at least {STORAGE_GAIN:g} and serial steps by at "
         f"least {COMPUTATION_GAIN:g} (both intervals above)",
         lambda v: v["storage_low"] >= STORAGE_GAIN and v["computation_low"] >= COMPUTATION_GAIN),
    Rule("inconclusive", f"the storage gain's interval straddles {STORAGE_GAIN:g}: more seeds would decide whether "
         "width buys storage", lambda v: v["storage_low"] < STORAGE_GAIN),
    Rule("inconclusive", f"the storage gain clears {STORAGE_GAIN:g}, but the serial-step gain's interval straddles "
         f"{COMPUTATION_GAIN:g}: more seeds would decide whether width also buys serial steps", always),
)


def learned_pairs(rows: list[dict], key: str, learned: str) -> tuple[np.ndarray, np.ndarray]:
    """``key`` at the narrowest and the widest width, paired by seed, over the seeds where both models learned."""
    narrow, wide = min(r["d_ff"] for r in rows), max(r["d_ff"] for r in rows)
    by_seed = {(r["seed"], r["d_ff"]): r for r in rows}
    seeds = sorted({r["seed"] for r in rows if by_seed.get((r["seed"], narrow), {}).get(learned)
                    and by_seed.get((r["seed"], wide), {}).get(learned)})
    return (np.array([by_seed[s, narrow][key] for s in seeds], float),
            np.array([by_seed[s, wide][key] for s in seeds], float))


def width_summary(rows: list[dict], design: dict) -> dict:
    """Widest-minus-narrowest gains in facts recalled and in serial steps, paired by seed (the same seed draws the
    same fact table and the same initialization scheme), each over the seeds where both models learned; a gain
    with fewer than MIN_PAIRS such seeds is None, and the rule reads it only after checking the count."""
    narrow, wide = learned_pairs(rows, "recalled", "storage_learned")
    k_narrow, k_wide = learned_pairs(rows, "k_star", "s3_learned")
    values = {"storage_pairs": len(narrow), "computation_pairs": len(k_narrow)}
    storage = stats.mean_ci(wide - narrow, bounds=(-1, 1)) if len(narrow) >= MIN_PAIRS else None
    recalled = stats.mean_ci(narrow, bounds=(0, 1)) if storage else None
    gain = serial_steps(k_wide) - serial_steps(k_narrow)
    computation = stats.mean_ci(gain) if len(k_narrow) >= MIN_PAIRS else None
    for name, interval in (("storage", storage), ("narrow", recalled), ("computation", computation)):
        for part in ("mean", "low", "high"):
            values[f"{name}_{part}"] = interval[part] if interval else None
    return values


def sweep_caption(summary: dict, values: dict) -> str:
    """One sentence stating what the sweep found, computed from the rule's values (models that learned)."""
    w0, w1 = summary["widths"][0], summary["widths"][-1]
    widening = f"widening the FFN from {w0} to {w1} units"
    if values["storage_low"] is None:
        storage = f"{widening} cannot be read for storage: too few narrowest and widest models took their training"
    else:
        storage = f"{widening} changes the facts recalled by {values['storage_mean']:.2f} of the table, " + \
            call(values, "storage", STORAGE_GAIN)
    if values["computation_low"] is None:
        computation = "and says nothing about serial S3 steps: too few S3 models learned their training length"
    else:
        computation = f"and the serial S3 steps tracked by {values['computation_mean']:.1f}, " + \
            call(values, "computation", COMPUTATION_GAIN)
    return f"{storage[0].upper()}{storage[1:]}, {computation}."


def call(values: dict, name: str, line: float) -> str:
    """Where a gain's interval over seeds lies against the line the rule reads."""
    if values[f"{name}_low"] >= line:
        return f"at least {line:g} (interval above it)"
    if values[f"{name}_high"] < line:
        return f"under {line:g} (interval below it)"
    return f"too uncertain to call against {line:g}"


def gain_sentence(values: dict) -> str:
    """The paired gains the rule reads, with their intervals over seeds, or why one cannot be read."""
    def gain(name, what, digits):
        if values[f"{name}_mean"] is None:
            return f"the {what} cannot be compared: fewer than {MIN_PAIRS} seeds have both models learned"
        mean, low, high = (values[f"{name}_{part}"] for part in ("mean", "low", "high"))
        return f"the {what} rise by {mean:.{digits}f} ({low:.{digits}f} to {high:.{digits}f} over seeds)"
    storage, serial = gain("storage", "facts recalled", 2), gain("computation", "serial steps", 1)
    return f"Widest against narrowest, {storage}; {serial}."


def narrow_storage_sentence(summary: dict, chance: float) -> str:
    """What the narrowest model's recall says about storage outside the FFN, computed from its interval."""
    narrow = summary["recalled"][0]
    if narrow["low"] > chance:
        return ("Even the narrowest model recalls more than chance (its interval over seeds is above it): the "
                "attention layer and the embeddings store pairs too, so the FFN's part of the storage is the rise "
                "with width, not the level.")
    return "The narrowest model recalls no more than chance: at that width the block stores next to nothing."


# ------------------------------------------------------------------------------ profiles and power
# Every profile-dependent setting, once; the page reads SETTINGS[profile] and each table's design counts the
# independent units these draw. full is sized to its 20-minute CPU budget with the width sweep: more text,
# probes every fourth layer, all four templates of each relation, patches from every second residual index (the
# lag's resolution) and the null/row probe every second layer.
SETTINGS = {
    "quick": {"chunks": 16, "chunk_tokens": 128, "probe_layers": [2, 10, 18, 26], "templates": [0, 1],
              "from_indices": list(range(0, 31, 3)), "null_row_layers": list(range(0, 30, 4)),
              "sweep_widths": [2, 16, 128], "sweep_seeds": 5, "sweep_steps": (500, 400)},
    "full": {"chunks": 24, "chunk_tokens": 128, "probe_layers": list(range(2, 29, 4)), "templates": [0, 1, 2, 3],
             "from_indices": list(range(0, 31, 2)), "null_row_layers": list(range(0, 30, 2)),
             "sweep_widths": [2, 8, 32, 128, 512], "sweep_seeds": 5, "sweep_steps": (800, 800)},
}
LAYERS = 30  # SmolLM2's blocks, every one of which C4 reads
COUNTRIES = len(pd.read_csv(COUNTRIES_CSV))


def trace_design(settings: dict) -> dict:
    """C2's and C6's units: countries (the clusters), templates nested in them, and features."""
    return {"countries": COUNTRIES, "templates": len(settings["templates"]), "features": len(RELATIONS)}


def per_profile(units) -> dict[str, dict]:
    """A table's design for each profile: ``units(settings)`` counts the independent units the profile draws."""
    return {profile: units(settings) for profile, settings in SETTINGS.items()}


# The worlds draw raw measurements with the spreads the first full record showed (per-chunk R², shares and
# gate excesses; per-prompt probe changes), so power is for this experiment's noise at each profile's counts.
def c3_world(share: float):
    """Per chunk, a null-space share around ``share`` (chunk spread 0.002); a second rounding shifts it by 0.004."""
    def draw(rng, design):
        chunks = rng.normal(share, 0.002, design["chunks"])
        return {"share": chunks, "requantized": chunks + 0.004 + rng.normal(0, 0.0005, design["chunks"]),
                "isotropic": isotropic_null_share(1536, 576)}
    return draw


def c4_world(largest: float):
    """One layer's real gate leaves ``largest`` more units near zero than the shuffled gate, the others none
    (chunk spread 0.015)."""
    def draw(rng, design):
        excess = rng.normal(0, 0.015, (design["chunks"], design["layers"]))
        excess[:, design["layers"] // 2] += largest
        return {"excess": excess}
    return draw


def trace_world(shares: tuple[float, ...], embedding: float = 0.5, later: float = 0.96):
    """One feature per entry of ``shares``: a patch moves that share of each prompt's change (countries differ by
    0.05, prompts by 0.15; C2's FFN swap and C6's whole-state patch alike); the layer-0 probe at the source is
    right at rate ``embedding``, the later token's at ``later``."""
    def draw(rng, design):
        country = np.tile(np.arange(design["countries"]), design["templates"])
        features = []
        for i, carried in enumerate(shares):
            change = np.abs(rng.normal(4, 1.5, len(country))) + 0.5
            share = carried + rng.normal(0, 0.05, design["countries"])[country] + rng.normal(0, 0.15, len(country))
            features.append({"name": f"feature {i}", "embedding_hits": rng.random(2 * len(country)) < embedding,
                             "later_hits": rng.random(2 * len(country)) < later, "moved": change * share,
                             "ffn_moved": change * share, "change": change, "country": country})
        return {"features": features}
    return draw


def width_world(recalled: tuple[float, float], k_star: tuple[int, int], s3_learned: bool = True):
    """Recall rising from ``recalled[0]`` at the narrowest FFN to ``recalled[1]`` at the widest (seed spread 0.03),
    k* from ``k_star[0]`` to ``k_star[1]`` (one step short at one model in ten), S3 models learned or not."""
    def draw(rng, design):
        rows = []
        for seed in range(design["seeds"]):
            for i in range(design["widths"]):
                along = i / (design["widths"] - 1)
                recall = float(np.clip(recalled[0] + along * (recalled[1] - recalled[0]) + rng.normal(0, 0.03), 0, 1))
                k = round(k_star[0] + along * (k_star[1] - k_star[0])) - int(rng.random() < 0.1)
                rows.append({"d_ff": 2 ** i, "seed": seed, "recalled": recall, "k_star": k,
                             "storage_learned": recall >= STORED, "s3_learned": s3_learned})
        return rows
    return draw


TABLES = {
    "C2": Table("C2", C2_RULES, c2_summary, (
        World("not testable here", "no feature reaches the later token (its probe at 0.6)",
              trace_world((0.4, 0.4, 0.4), later=0.6)),
        World("supported", "the later tokens do not use the earlier FFN conclusions: the swap moves 0.1",
              trace_world((0.1, 0.1, 0.1))),
        World("refuted", "they reuse them: the swap moves 0.7 of each feature", trace_world((0.7, 0.7, 0.7))),
        World("nuanced", "partly reused, as the first three-feature run measured (0.35 to 0.43)",
              trace_world((0.35, 0.4, 0.43))),
        World("inconclusive", f"one feature's swap moves exactly {REUSED_ABOVE:g}",
              trace_world((0.4, 0.4, REUSED_ABOVE)))),
        per_profile(trace_design)),
    "C3": Table("C3", C3_RULES, c3_summary, (
        World("refuted", "the activation puts 0.45 of its energy in the null space", c3_world(0.45)),
        World("supported", "the activation is blind to down_proj: the isotropic share", c3_world(0.625)),
        World("nuanced", "it leans toward down_proj as much as the first record measured", c3_world(0.587)),
        World("inconclusive", "it sits on the line under the isotropic share", c3_world(0.625 - ALIGNMENT_MARGIN))),
        per_profile(lambda s: {"chunks": s["chunks"]})),
    "C4": Table("C4", C4_RULES, c4_summary, (
        World("supported", "one layer's gate erases as much as the first record's largest (0.17)", c4_world(0.17)),
        World("nuanced", "no layer's gate erases beyond the shuffled gate", c4_world(0.0)),
        World("inconclusive", f"one layer's gate erases exactly {ERASE_MARGIN:g} more", c4_world(ERASE_MARGIN))),
        per_profile(lambda s: {"chunks": s["chunks"], "layers": LAYERS})),
    "C6": Table("C6", C6_RULES, c6_summary, (
        World("not testable here", "the value's embedding alone tells every feature (layer-0 probe at 0.75)",
              trace_world((0.99, 0.99, 0.99), embedding=0.75)),
        World("supported", "the later token recomputes: the patch moves 0.1 of each feature", trace_world((0.1,) * 3)),
        World("refuted", "it reads the source: the patch moves 0.97, as the first three-feature run measured",
              trace_world((0.95, 0.98, 1.0))),
        World("nuanced", "one feature read, two half read", trace_world((0.97, 0.5, 0.5))),
        World("inconclusive", f"one feature's patch moves exactly {READ_ABOVE:g}",
              trace_world((0.97, 0.97, READ_ABOVE)))),
        per_profile(trace_design)),
    "C3-width": Table("C3", WIDTH_RULES, width_summary, (
        World("inconclusive", "width buys storage, and no S3 model learns its training length", width_world(
            (0.4, 0.7), (1, 2), s3_learned=False)),
        World("not testable here", "the narrowest FFN stores the whole table", width_world((1.0, 1.0), (8, 8))),
        World("refuted", "width leaves recall flat", width_world((0.5, 0.5), (8, 8))),
        World("supported", "width buys 0.3 of the table and no serial step", width_world((0.4, 0.7), (8, 8))),
        World("nuanced", "width buys 0.3 of the table and two serial steps", width_world((0.4, 0.7), (6, 8)))),
        per_profile(lambda s: {"seeds": s["sweep_seeds"], "widths": len(s["sweep_widths"])})),
}
