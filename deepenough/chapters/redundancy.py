"""Page ``book/redundancy.md``, claims C11 and C12: once one layer has detected a feature, must later layers
detect it again, and can a later position lack what an earlier position understood?

SmolLM2-135M-Instruct reads sentences whose topic is political, sporting or everyday. Held-out linear probes
find the first residual index where each feature (political or not; sports or not) is decodable at the
topic's position. C11: the feature's linear directions are erased there at every position (iterative
nullspace projection, Ravfogel et al. 2020), the rest of the network runs on the erased stream, and fresh
probes ask whether the topic's position decodes the feature again at the last layer (re-detection) or not
(a single detector); a random subspace of the same rank is the control. C12: at every index from the first
decodable one on, how often the topic's position decodes the feature while the sentence's last position,
which attends to it, does not; probes trained on shuffled labels are the control.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import yaml
from scipy import stats as scipy_stats

from ..lab import patching, stats
from ..machinery import paths
from ..machinery.power import Table, World
from ..machinery.rules import Rule, always

DATA = paths.PACKAGE / "data" / "redundancy" / "sentences.yml"
FEATURES = ("political", "sports")  # each against the everyday topics
# Every setting that differs between the profiles: frames per half (a frame and its six sentences is the unit).
SETTINGS = {"quick": {"frames": 10}, "full": {"frames": 24}}
TOPICS_PER_CLASS = 2  # each frame is filled with two topics of each class: six sentences
ITEMS = 2 * TOPICS_PER_CLASS * len(FEATURES)  # probe items per frame: positives and everyday topics, per feature
DECODABLE = 0.8  # held-out probe accuracy at which a feature counts as present (chance is 0.5)
FIRST_FOUND = 0.9  # the first residual index whose accuracy reaches this, on the training half, is where it is erased
ERASED = 0.65  # erasure worked where it was applied: the upper end of held-out accuracy there stays below this
RANK = 32  # directions nullspace projection erases: a fixed number, as a probe's accuracy on the few training rows
           # cannot tell when to stop; whether the erasure worked is measured on the held-out half
REDERIVED, LOST = 0.7, 0.3  # retained share of clean decodability (0: erased for good, 1: fully re-derived)
INCONSISTENT = 0.05  # C12: share of topic-position hits the last position misses, one in twenty
PROBE_RIDGE = 100.0  # ridge penalty of the probes on standardized features: strong, as rows are few (about 100)


@dataclass
class Sentence:
    text: str
    half: int
    frame: int  # the independent unit: frames are never shared between halves
    kind: str   # political, sports or everyday
    topic_end: int  # character offset just after the topic


def sentences(frames_per_half: int, seed: int) -> list[Sentence]:
    """Each frame of each half filled with TOPICS_PER_CLASS topics of every class, from that half's topics
    (rotating, so every topic appears about as often); the frames are drawn at random by ``seed``."""
    data = yaml.safe_load(DATA.read_text())
    rng = np.random.default_rng(seed)
    out = []
    for h, half in enumerate(data["halves"]):
        chosen = sorted(rng.choice(len(half["frames"]), frames_per_half, replace=False))
        for j, f in enumerate(chosen):
            frame = half["frames"][f]
            for kind, topics in half["topics"].items():
                for t in range(TOPICS_PER_CLASS):
                    topic = topics[(TOPICS_PER_CLASS * j + t) % len(topics)]
                    out.append(Sentence(frame.format(topic=topic), h, h * 1000 + int(f), kind,
                                        frame.index("{topic}") + len(topic)))
    return out


def encode(tokenizer, sentence: Sentence) -> tuple[torch.Tensor, int]:
    """Token ids of the sentence and the position of the topic's last token."""
    ids = tokenizer(sentence.text, add_special_tokens=False).input_ids
    prefix = tokenizer(sentence.text[:sentence.topic_end], add_special_tokens=False).input_ids
    if ids[:len(prefix)] != prefix:
        raise ValueError(f"the topic's tokens change with what follows: {sentence.text!r}")
    return torch.tensor([ids]), len(prefix) - 1


@dataclass
class States:
    """Residual streams at the topic's position and at the last position: (indices, sentences, d_model)."""
    topic: np.ndarray
    last: np.ndarray


def read_states(model, tokenizer, items: list[Sentence]) -> tuple[States, list]:
    """Every residual index at the two positions for every sentence, and each sentence's whole clean stream
    (indices x tokens x d_model) with its topic position, which erasure starts from."""
    topic, last, runs = [], [], []
    for s in items:
        ids, p = encode(tokenizer, s)
        res, _ = patching.residuals(model, ids)
        topic.append(res[:, 0, p]), last.append(res[:, 0, -1])
        runs.append((res[:, 0], p))
    return States(torch.stack(topic, 1).numpy(), torch.stack(last, 1).numpy()), runs


@torch.no_grad()
def erased_states(model, runs: list, index: int, projection: np.ndarray) -> States:
    """The same sentences with ``projection`` (d x d, applied on the right) at residual index ``index`` at every
    position, every later layer run on the erased stream; indices below ``index`` are the clean ones."""
    project = torch.tensor(projection, dtype=torch.float32)
    topic, last = [], []
    for clean, p in runs:
        states, _ = patching.run_from(model, (clean[index] @ project)[None], index)
        full = torch.cat([clean[:index], states[:, 0]])
        topic.append(full[:, p]), last.append(full[:, -1])
    return States(torch.stack(topic, 1).numpy(), torch.stack(last, 1).numpy())


def fit_probe(x: np.ndarray, y: np.ndarray):
    """Standardize, then a ridge classifier (closed form, in the dual: rows are far fewer than dimensions);
    returns its predictions (0 or 1) as a function."""
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    target = np.where(y > 0, 1.0, -1.0)
    w = z.T @ np.linalg.solve(z @ z.T + PROBE_RIDGE * np.eye(len(z)), target - target.mean())
    bias = target.mean()
    return lambda new: ((((new - mean) / scale) @ w + bias) > 0).astype(float)


def held_out_hits(x: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Whether a probe trained on rows ``train`` labels each row of ``test`` correctly."""
    return (fit_probe(x[train], y[train])(x[test]) == y[test]).astype(float)


def first_decodable(x: np.ndarray, y: np.ndarray, frame: np.ndarray, rows: np.ndarray) -> int:
    """The first residual index at which a probe, trained on half of ``rows``' frames and tested on the other
    half (both ways), reaches FIRST_FOUND: chosen on the training half alone, so the test half never steers it."""
    inner = np.isin(frame, np.unique(frame[rows])[::2])
    a, b = rows & inner, rows & ~inner
    for k in range(len(x)):
        if np.r_[held_out_hits(x[k], y, a, b), held_out_hits(x[k], y, b, a)].mean() >= FIRST_FOUND:
            return k
    return len(x) - 1


def nullspace_projection(x: np.ndarray, y: np.ndarray, rank: int = RANK) -> np.ndarray:
    """Iterative nullspace projection (Ravfogel et al. 2020): ``rank`` times, fit a least-squares linear
    classifier to what is left and remove its direction. Returns the projection (d x d)."""
    x = x - x.mean(0)
    target = np.where(y > 0, 1.0, -1.0)
    directions = np.zeros((0, x.shape[1]))
    for _ in range(rank):
        kept = x - x @ directions.T @ directions
        gram = kept @ kept.T
        w = kept.T @ np.linalg.solve(gram + 1e-3 * np.trace(gram) / len(gram) * np.eye(len(gram)), target)
        w -= directions.T @ (directions @ w)
        directions = np.vstack([directions, w / np.linalg.norm(w)])
    return np.eye(x.shape[1]) - directions.T @ directions


def random_projection(d: int, rank: int, seed: int) -> np.ndarray:
    """Erases a random subspace of ``rank`` dimensions: the control for nullspace projection."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, max(rank, 1))))
    return np.eye(d) - q[:, :rank] @ q[:, :rank].T


def ratio_ci(numerators: np.ndarray, denominators: np.ndarray, level: float = stats.LEVEL) -> dict:
    """sum(numerators) / sum(denominators) over independent units, with a delta-method t interval, all three
    bounded to [0, 1] (a share)."""
    num, den = np.asarray(numerators, float), np.asarray(denominators, float)
    ratio = num.sum() / den.sum()
    influence = (num - ratio * den) / den.mean()
    half = scipy_stats.t.ppf((1 + level) / 2, len(num) - 1) * influence.std(ddof=1) / np.sqrt(len(num))
    bound = lambda v: float(min(max(v, 0.0), 1.0))  # noqa: E731
    return {"mean": bound(ratio), "low": bound(ratio - half), "high": bound(ratio + half), "n": int(len(num))}


# ------------------------------------------------------------------------------- the rules and their worlds
def c11_summary(raw: dict, design) -> dict:
    """What the C11 rules read, from per-frame hit rates (frames x items): clean and erased accuracy at the
    read point, accuracy right where the feature was erased, and the share of clean decodability retained."""
    clean, erased, at_erasure = (np.asarray(raw[k], float).mean(1) for k in ("clean", "erased", "at_erasure"))
    return {"clean": stats.mean_ci(clean, bounds=(0, 1)), "erased": stats.mean_ci(erased, bounds=(0, 1)),
            "at_erasure": stats.mean_ci(at_erasure, bounds=(0, 1)), "retained": ratio_ci(erased - 0.5, clean - 0.5)}


C11_RULES = (
    Rule("inconclusive", f"the feature is not decodable at the read point in clean runs (accuracy's lower end "
         f"under {DECODABLE:g}), so there is nothing to re-detect", lambda v: v["clean"]["low"] < DECODABLE),
    Rule("inconclusive", f"the erasure did not remove the feature where it was applied (accuracy's upper end "
         f"there above {ERASED:g})", lambda v: v["at_erasure"]["high"] > ERASED),
    Rule("supported", f"later layers detect the feature again: the retained share's lower end is at least "
         f"{REDERIVED:g}", lambda v: v["retained"]["low"] >= REDERIVED),
    Rule("refuted", f"the feature stays lost: the retained share's upper end is at most {LOST:g}",
         lambda v: v["retained"]["high"] <= LOST),
    Rule("nuanced", f"later layers detect part of it again: the retained share lies between {LOST:g} and "
         f"{REDERIVED:g}", lambda v: v["retained"]["low"] >= LOST and v["retained"]["high"] <= REDERIVED),
    Rule("inconclusive", f"the retained share's interval straddles one of the lines at {LOST:g} and {REDERIVED:g}: "
         "more frames would narrow it", always),
)

FRAME_SPREAD = 0.05  # how much a frame's accuracy varies around the mean in the worlds
CLEAN_ACCURACY = 0.95  # the worlds' clean accuracy at the read point


def frame_hits(rng, frames: int, accuracy: float) -> np.ndarray:
    """Hits (frames x ITEMS) where each frame's accuracy scatters by FRAME_SPREAD around ``accuracy``."""
    p = np.clip(rng.normal(accuracy, FRAME_SPREAD, (frames, 1)), 0, 1)
    return (rng.random((frames, ITEMS)) < p).astype(float)


def c11_world(retained: float, clean: float = CLEAN_ACCURACY, at_erasure: float = 0.5):
    def draw(rng, design):
        n = design["frames"]
        return {"clean": frame_hits(rng, n, clean), "erased": frame_hits(rng, n, 0.5 + retained * (clean - 0.5)),
                "at_erasure": frame_hits(rng, n, at_erasure)}
    return draw


def c12_summary(raw: dict, design) -> dict:
    """What the C12 rules read: accuracy at the topic's position, and per frame the share of its hits that the
    last position misses (its own items and layers pooled), with intervals over frames."""
    return {"source": stats.mean_ci(np.asarray(raw["source"], float).mean(1), bounds=(0, 1)),
            "inconsistent": stats.mean_ci(np.asarray(raw["inconsistent"], float), bounds=(0, 1))}


C12_RULES = (
    Rule("inconclusive", f"the topic's own position does not decode the feature (accuracy's lower end under "
         f"{DECODABLE:g}), so there is no conclusion to lose", lambda v: v["source"]["low"] < DECODABLE),
    Rule("supported", f"the last position misses more than {INCONSISTENT:.0%} of what the topic's position "
         "decodes (the interval's lower end)", lambda v: v["inconsistent"]["low"] > INCONSISTENT),
    Rule("refuted", f"the last position misses less than {INCONSISTENT:.0%} of it (the interval's upper end)",
         lambda v: v["inconsistent"]["high"] < INCONSISTENT),
    Rule("inconclusive", f"the interval contains {INCONSISTENT:.0%}: more frames would narrow it", always),
)


def c12_world(share: float, source: float = CLEAN_ACCURACY):
    def draw(rng, design):
        n = design["frames"]
        per_frame = np.clip(rng.normal(share, max(share, 0.01) / 2, n), 0, 1)
        return {"source": frame_hits(rng, n, source), "inconsistent": rng.binomial(ITEMS, per_frame) / ITEMS}
    return draw


DESIGNS = {profile: {"frames": 2 * s["frames"]} for profile, s in SETTINGS.items()}
TABLES = {
    "C11": Table("C11", C11_RULES, c11_summary, (
        World("inconclusive", "the feature is too weak to read in clean runs", c11_world(1.0, clean=0.7)),
        World("inconclusive", "the erasure leaves the feature readable", c11_world(1.0, at_erasure=0.8)),
        World("supported", "later layers re-derive 95% of the feature", c11_world(0.95)),
        World("refuted", "the erased feature stays lost (5% comes back)", c11_world(0.05)),
        World("nuanced", "later layers re-derive half of it", c11_world(0.5)),
        World("inconclusive", f"the retained share sits on {REDERIVED:g}", c11_world(REDERIVED))),
        DESIGNS),
    "C12": Table("C12", C12_RULES, c12_summary, (
        World("inconclusive", "the topic's position does not decode the feature", c12_world(0.15, source=0.7)),
        World("supported", "the last position misses 15% of what the topic's position decodes", c12_world(0.15)),
        World("refuted", "it misses 1%", c12_world(0.01)),
        World("inconclusive", f"it misses {INCONSISTENT:.0%}", c12_world(INCONSISTENT))),
        DESIGNS),
}


# ------------------------------------------------------------------------------------------ the experiment
def labelled(items: list[Sentence], feature: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``items`` that the feature's probe reads (its positives and the everyday topics) and labels."""
    rows = np.array([s.kind in (feature, "everyday") for s in items])
    return rows, np.array([s.kind == feature for s in items], dtype=float)


def experiment(model, tokenizer, items: list[Sentence], seed: int) -> dict:
    """Both claims' raw measurements, per feature and fold (train on one half, test on the other).

    For each test sentence: probe hits at every residual index at both positions (clean), after erasing
    the feature at its first decodable index (nullspace) and after erasing a random subspace of the same
    rank (control), and with probes trained on shuffled labels (C12's control)."""
    clean, runs = read_states(model, tokenizer, items)
    half = np.array([s.half for s in items])
    frame = np.array([s.frame for s in items])
    rng = np.random.default_rng(seed)
    out = []
    for feature in FEATURES:
        rows, y = labelled(items, feature)
        for test_half in (0, 1):
            train, test = rows & (half != test_half), rows & (half == test_half)
            first = first_decodable(clean.topic, y, frame, train)
            projection = nullspace_projection(clean.topic[first][train], y[train])
            control = random_projection(projection.shape[1], RANK, int(rng.integers(2**31)))
            shuffled = y.copy()
            shuffled[train] = rng.permutation(y[train])
            split = (train, test)
            out.append({"feature": feature, "test_half": test_half, "first": first,
                        "frame": frame[test], "clean": fold_hits(clean, y, *split),
                        "erased": fold_hits(erased_states(model, runs, first, projection), y, *split),
                        "control": fold_hits(erased_states(model, runs, first, control), y, *split),
                        "shuffled": fold_hits(clean, shuffled, *split)})
    return {"folds": out, "indices": len(clean.topic)}


def fold_hits(states: States, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict:
    """Held-out probe hits at both positions, at every residual index: (indices, test rows) each."""
    return {where: np.array([held_out_hits(x, labels, train, test) for x in getattr(states, where)])
            for where in ("topic", "last")}


def per_frame(folds: list[dict], pick) -> np.ndarray:
    """``pick(fold)`` (one value per test row) gathered into frames x ITEMS, frames in a fixed order."""
    frames = sorted({int(f) for fold in folds for f in fold["frame"]})
    cells = {f: [] for f in frames}
    for fold in folds:
        for f, v in zip(fold["frame"], pick(fold)):
            cells[int(f)].append(v)
    return np.array([cells[f] for f in frames])


def c11_raw(result: dict, erased: str = "erased") -> dict:
    """C11's raw measurements: hits at the topic's position at the last residual index (clean, and after the
    ``erased`` run: nullspace or control), and at the topic's position right where the feature was erased."""
    last = result["indices"] - 1
    return {"clean": per_frame(result["folds"], lambda f: f["clean"]["topic"][last]),
            "erased": per_frame(result["folds"], lambda f: f[erased]["topic"][last]),
            "at_erasure": per_frame(result["folds"], lambda f: f[erased]["topic"][f["first"]])}


def inconsistency(topic: np.ndarray, last: np.ndarray, first: int) -> np.ndarray:
    """Per test row, over indices ``first`` on: of the indices where the topic's position is right, the share
    where the last position is wrong (rows never right at the topic count 0 of 0 and are left out by the caller)."""
    right, missed = topic[first:], topic[first:] * (1 - last[first:])
    return np.stack([missed.sum(0), right.sum(0)])


def c12_raw(result: dict, probes: str = "clean") -> dict:
    """C12's raw measurements: per frame, the topic position's accuracy at the last index, and the share of
    its hits (over items and the indices from the feature's first decodable one on) the last position misses."""
    counts = per_frame(result["folds"], lambda f: inconsistency(f[probes]["topic"], f[probes]["last"], f["first"]).T)
    missed, right = counts[..., 0].sum(1), counts[..., 1].sum(1)
    last = result["indices"] - 1
    return {"source": per_frame(result["folds"], lambda f: f[probes]["topic"][last]),
            "inconsistent": missed / np.maximum(right, 1)}


def curve(result: dict, kind: str, where: str, feature: str | None = None) -> list[dict]:
    """Held-out accuracy at each residual index, interval over frames (both folds; one or both features)."""
    folds = [f for f in result["folds"] if feature in (None, f["feature"])]
    out = []
    for k in range(result["indices"]):
        cells = per_frame(folds, lambda f, k=k: f[kind][where][k])
        out.append(stats.mean_ci(cells.mean(1), bounds=(0, 1)))
    return out
