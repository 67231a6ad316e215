"""Page ``book/depth_width.md``, claims C7 and C10: depth versus width at a fixed parameter budget, looped blocks, and the serial depth of SmolLM2.

Every model is a ``tiny.llama`` (the SmolLM2 block at toy size) described by a ``Shape``; every run goes
through ``train.train``. Two tasks: memorising a table of random facts (what width is said to buy) and
running parity, the serial-depth chapter's task (what depth is said to buy: position i needs i sequential
updates).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..machinery.results import Ruling
from ..lab import tasks
from ..lab import stats, tiny, train

HEADS = 2
WIDTH_STEP = 2 * HEADS  # rotary positions need an even head dimension
FF_MULT = 4

# Verdict thresholds, defended in the chapter.
SERIAL_GAIN = 0.10       # accuracy points deep-narrow must beat shallow-wide by on the serial task (chance 0.5)
STORAGE_SPREAD = 0.25    # relative bits/parameter advantage of the wide shape that counts as "width buys storage"
STORAGE_CEILING = 0.9    # a shape that stores this share of the table is limited by the table, not by its shape
TARGET_ACCURACY = 0.70   # serial accuracy a route must reach for its cost to count (see route_target)
COST_RATIO = 2.0         # widening must cost this many times the FLOPs of deepening to call it "exorbitant"


@dataclass(frozen=True)
class Shape:
    """``depth`` distinct blocks of width ``width``, run ``loops`` times each (weight-tied when loops > 1)."""
    depth: int
    width: int
    loops: int = 1

    @property
    def passes(self) -> int:
        return self.depth * self.loops

    @property
    def label(self) -> str:
        tied = f" looped x{self.loops}" if self.loops > 1 else ""
        return f"{self.depth}x{self.width}{tied}"


def block_params(width: int) -> int:
    """Weights of one Llama block with full (not grouped) heads: attention 4d², SwiGLU 3·d·4d, two norms."""
    return 4 * width ** 2 + 3 * FF_MULT * width ** 2 + 2 * width


def body_params(depth: int, width: int) -> int:
    """Non-embedding parameters: the blocks plus the final norm."""
    return depth * block_params(width) + width


def width_for_budget(budget: int, depth: int) -> int:
    """The width (a multiple of WIDTH_STEP) whose non-embedding parameter count is nearest ``budget``."""
    candidates = range(WIDTH_STEP, 4096, WIDTH_STEP)
    return min(candidates, key=lambda w: abs(body_params(depth, w) - budget))


def family(budget: int, depths: list[int]) -> list[Shape]:
    """Shapes from shallow-and-wide to deep-and-narrow at (about) one parameter budget."""
    return [Shape(d, width_for_budget(budget, d)) for d in depths]


def build_model(shape: Shape, vocab: int, seed: int):
    model = tiny.llama(vocab, shape.width, shape.depth, heads=HEADS, ff_mult=FF_MULT, seed=seed)
    if shape.loops > 1:
        if shape.depth != 1:
            raise ValueError("only a one-block model can be looped")
        model = tiny.looped(model, shape.loops)
    return model


# --- knowledge storage ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FactTable:
    """``names[i]`` (NAME_LENGTH letters) has attribute ``attributes[i]``; tokens: letters, then attributes."""
    names: torch.Tensor
    attributes: torch.Tensor
    alphabet: int
    n_attributes: int

    @property
    def vocab(self) -> int:
        return self.alphabet + self.n_attributes

    @property
    def bits(self) -> float:
        """Information in the table: each attribute is uniform over ``n_attributes``."""
        return len(self.names) * math.log2(self.n_attributes)


NAME_LENGTH = 3


def fact_table(n_facts: int, alphabet: int, n_attributes: int, seed: int = 0) -> FactTable:
    """Distinct random names, each with an independent uniformly random attribute."""
    if n_facts > alphabet ** NAME_LENGTH:
        raise ValueError("more facts than distinct names")
    gen = torch.Generator().manual_seed(seed)
    codes = torch.randperm(alphabet ** NAME_LENGTH, generator=gen)[:n_facts]
    letters = torch.stack([codes // alphabet ** (NAME_LENGTH - 1 - i) % alphabet for i in range(NAME_LENGTH)], 1)
    attributes = torch.randint(0, n_attributes, (n_facts,), generator=gen)
    return FactTable(letters, attributes, alphabet, n_attributes)


def fact_batches(table: FactTable, batch: int):
    """Facts sampled with replacement; only the last position (the attribute) is scored."""
    def make(gen: torch.Generator):
        pick = torch.randint(0, len(table.names), (batch,), generator=gen)
        ids = table.names[pick]
        targets = torch.full_like(ids, train.IGNORE)
        targets[:, -1] = table.attributes[pick] + table.alphabet
        return ids, targets
    return make


@torch.no_grad()
def bits_stored(model, table: FactTable) -> float:
    """Bits the model knows about the table: N·log2(A) minus its cross-entropy (in bits) on every fact.

    This is the code-length saving over guessing uniformly (Allen-Zhu & Li's measure, up to their
    correction for partially learned names); the logits are restricted to the attribute tokens.
    """
    model.eval()
    out = tiny.logits(model, table.names)[:, -1, table.alphabet:]
    cross_entropy_bits = F.cross_entropy(out, table.attributes, reduction="sum").item() / math.log(2)
    return max(0.0, table.bits - cross_entropy_bits)


def run_storage(shape: Shape, table: FactTable, steps: int, batch: int, seed: int, lr: float) -> dict:
    model = build_model(shape, table.vocab, seed)
    train.train(model, fact_batches(table, batch), steps, seed=seed, lr=lr)
    params = tiny.count_params(model)
    bits = bits_stored(model, table)
    return {"shape": shape, "seed": seed, "params": params, "bits": bits, "bits_per_param": bits / params,
            "share": bits / table.bits, "exposures": steps * batch / len(table.names)}


# --- serial composition --------------------------------------------------------------------------

@torch.no_grad()
def serial_accuracy(model, length: int, n: int = 1000, seed: int = 10_000) -> float:
    """Mean per-position accuracy of running parity on fresh sequences (chance: 0.5)."""
    batch = tasks.parity_task(n, length)(torch.Generator().manual_seed(seed))
    return train.accuracy(model, batch)


def run_serial(shape: Shape, length: int, steps: int, batch: int, seed: int, lr: float) -> dict:
    model = build_model(shape, tasks.PARITY_VOCAB, seed)
    train.train(model, tasks.parity_task(batch, length), steps, seed=seed, lr=lr)
    return {"shape": shape, "seed": seed, "params": tiny.count_params(model), "flops": tiny.flops_per_token(model, length),
            "accuracy": serial_accuracy(model, length)}


def by_shape(runs: list[dict], key: str) -> dict[Shape, dict]:
    """Interval over seeds of ``key`` for each shape, in first-seen order."""
    shapes = list(dict.fromkeys(r["shape"] for r in runs))
    return {s: stats.mean_ci([r[key] for r in runs if r["shape"] == s]) for s in shapes}


# --- the cost of each route to a target accuracy (C10) -------------------------------------------

def cheapest_reaching(route: list[Shape], accuracy: dict[Shape, dict], flops: dict[Shape, float],
                      target: float) -> float:
    """FLOPs per token of the cheapest shape on ``route`` that reaches ``target`` reliably: the lower end of
    its 95% interval over seeds, not just its mean, is at the target (inf if none does)."""
    reached = [flops[s] for s in route if accuracy[s]["low"] >= target]
    return min(reached, default=math.inf)


# --- verdicts ------------------------------------------------------------------------------------

def storage_spread(bits_per_param: list[float]) -> float:
    """(max - min) / max of bits per parameter across shapes; 0 means shape does not matter."""
    top = max(bits_per_param)
    return (top - min(bits_per_param)) / top if top > 0 else 0.0


def width_advantage(bpp_wide: float, bpp_deep: float) -> float:
    """How much more the wide shape stores per parameter, relative to the better of the two (negative: less)."""
    top = max(bpp_wide, bpp_deep)
    return (bpp_wide - bpp_deep) / top if top > 0 else 0.0


def storage_measured(stored_share: list[dict]) -> bool:
    """Storage tells shapes apart only if every shape stored clearly more than nothing (interval above 0)
    and none filled the table (mean share under STORAGE_CEILING): otherwise the comparison measures noise
    or the size of the table."""
    return all(s["low"] > 0 and s["mean"] < STORAGE_CEILING for s in stored_share)


def c7_verdict(gain: dict, advantage: dict, measured: bool = True) -> Ruling:
    """C7 from the serial gain of depth at fixed parameters (deep minus shallow accuracy, paired by seed)
    and whether width buys storage (``width_advantage`` of the shallow-wide over the deep-narrow shape).

    Refuted only when the interval rules out a gain of SERIAL_GAIN; an interval that neither shows nor
    rules out that gain is inconclusive, and said to be."""
    span = f"{gain['mean']:+.2f} (95% CI {gain['low']:+.2f} to {gain['high']:+.2f})"
    if gain["high"] < SERIAL_GAIN:
        return Ruling("refuted", (f"at a fixed parameter budget the deep-narrow shape beat the shallow-wide one on the serial "
                           f"task by {span}, which rules out a gain of {SERIAL_GAIN}: shallowness did not limit "
                           f"serial work here"))
    if gain["low"] <= 0 or gain["mean"] < SERIAL_GAIN:
        return Ruling("nuanced", (f"inconclusive: the deep-narrow shape beat the shallow-wide one on the serial task by "
                           f"{span}, an interval that neither shows nor rules out a gain of {SERIAL_GAIN}"))
    if not measured:
        return Ruling("nuanced", (f"depth bought {span} serial accuracy at fixed parameters, as the author says; but "
                           f"the storage runs either stored nothing measurable or filled the whole table, so "
                           f"whether width buys storage (the commenter's side) is not decided here"))
    if advantage["mean"] >= STORAGE_SPREAD and advantage["low"] > 0:
        return Ruling("nuanced", (f"depth bought {span} serial accuracy at fixed parameters, but the wide shape "
                           f"stored {advantage['mean']:.0%} more bits per parameter (threshold {STORAGE_SPREAD:.0%}): "
                           f"width buys storage, depth buys serial steps, a trade-off rather than a mistake"))
    return Ruling("supported", (f"depth bought {span} serial accuracy at fixed parameters, and width bought no "
                         f"storage: the wide shape stored {advantage['mean']:+.0%} bits per parameter relative to "
                         f"the deep one (threshold {STORAGE_SPREAD:+.0%}); the wide shape paid for width it did not use"))


def route_target(base_accuracy: float) -> float:
    """The serial accuracy a route must reach: TARGET_ACCURACY, or SERIAL_GAIN above the starting model if
    that is higher, so that reaching it always means improving on where every route starts."""
    return min(max(TARGET_ACCURACY, base_accuracy + SERIAL_GAIN), 0.99)


PLATEAU_UNTESTABLE = ("whether LLMs will plateau against other architectures is a forecast about future "
                      "systems and is not testable here")


def c10_verdict(wide_cost: float, deep_cost: float, target: float = TARGET_ACCURACY) -> Ruling:
    """C10's testable part: does reaching ``target`` by widening cost far more FLOPs than by deepening?"""
    if math.isinf(deep_cost):
        return Ruling("not testable here", (f"no deep or looped model reliably reached {target:.2f} serial accuracy "
                                     f"(lower end of its 95% interval over seeds), so the routes' costs cannot "
                                     f"be compared; {PLATEAU_UNTESTABLE}"))
    ratio = wide_cost / deep_cost
    if ratio >= COST_RATIO:
        what = ("never reached it within the widths tried" if math.isinf(ratio)
                else f"needed {ratio:.1f}x their FLOPs per token (threshold {COST_RATIO}x)")
        return Ruling("supported", (f"a deep or looped model reached {target:.2f} serial accuracy at "
                             f"{deep_cost:,.0f} FLOPs per token; widening {what}; {PLATEAU_UNTESTABLE}"))
    if ratio <= 1.0:
        return Ruling("refuted", (f"widening reached {target:.2f} serial accuracy at {ratio:.1f}x the FLOPs of "
                           f"deepening, no dearer; {PLATEAU_UNTESTABLE}"))
    return Ruling("nuanced", (f"widening cost {ratio:.1f}x the FLOPs of deepening to reach {target:.2f}, dearer "
                       f"but under {COST_RATIO}x; {PLATEAU_UNTESTABLE}"))


# --- how deep is SmolLM2? ------------------------------------------------------------------------

def levine_threshold(width: int) -> float:
    """Levine et al. (2020): self-attention is depth-efficient below L = log3(width), not above."""
    return math.log(width) / math.log(3)


def run_seeds(run_one, shapes: list[Shape], seeds: list[int], **settings) -> list[dict]:
    """``run_one(shape, seed=..., **settings)`` for every shape and seed."""
    return [run_one(shape, seed=seed, **settings) for shape in shapes for seed in seeds]


def smollm_config():
    """SmolLM2's configuration alone (no weights loaded)."""
    from transformers import AutoConfig

    from ..lab import smollm

    return AutoConfig.from_pretrained(smollm.ensure_converted())
