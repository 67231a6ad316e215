"""Page ``book/depth_width.md``, claims C7 and C10: shapes and recurrence at one parameter budget, and costs.

Shapes and a recurrent network at a fixed parameter budget, the cost of each route to a serial target, and
the serial depth of SmolLM2.

Transformers are ``tiny.llama`` blocks (the SmolLM2 block at toy size) described by a ``Shape``; the
recurrent route is ``tiny.RecurrentLM`` (a GRU), the feedback route ``tiny.FeedbackTransformer``. Two
tasks: memorising a table of random facts (what width is said to buy) and S3 state tracking from the group
ladder (``lab.tasks.group_task``, trained and scored by ``lab.ladder``), which needs a chain of updates and
has no shortcut that transformers find quickly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..lab import ladder, numbers, stats, tiny, train
from ..machinery.rules import Rule, Ruling, always, decide

HEADS = 2
WIDTH_STEP = 2 * HEADS  # rotary positions need an even head dimension
FF_MULT = 4

# Verdict thresholds, defended in the chapter.
GAP_MIN = 2              # steps of chain the GRU must track beyond the best transformer shape: twice the
                         # spread between seeds of one transformer shape in scratch runs (2 to 3 steps)
STORAGE_SPREAD = 0.25    # relative bits/parameter advantage of the wide shape that counts as width buying storage
STORAGE_CEILING = 0.9    # a shape that stores this share of the table is limited by the table, not by its shape
TARGET_SHARE = 0.5       # the target chain is this share of the training length: about twice what transformers
                         # tracked on S3 in scratch runs, well short of what the GRU tracked
COST_RATIO = 2.0         # a route must cost this many times the FLOPs of another to count as much dearer: more
                         # than one step of the size grids (widths double), so not an artefact of where k falls


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
    return model.to(ladder.device())


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
    out = tiny.logits(model, table.names.to(tiny.device_of(model)))[:, -1, table.alphabet:].cpu()
    cross_entropy_bits = F.cross_entropy(out, table.attributes, reduction="sum").item() / math.log(2)
    return max(0.0, table.bits - cross_entropy_bits)


def run_storage(shape: Shape, table: FactTable, steps: int, batch: int, seed: int, lr: float) -> dict:
    model = build_model(shape, table.vocab, seed)
    train.train(model, fact_batches(table, batch), steps, seed=seed, lr=lr)
    params = tiny.count_params(model)
    bits = bits_stored(model, table)
    return {"shape": shape, "seed": seed, "params": params, "bits": bits, "bits_per_param": bits / params,
            "share": bits / table.bits, "exposures": steps * batch / len(table.names)}


# --- serial state tracking at matched parameters (C7) and the cost of each route (C10) ----------------

def serial_route(shape: Shape) -> ladder.Route:
    """The ladder route of a transformer shape (same width, depth, heads and looping)."""
    if shape.loops > 1:
        return ladder.Route("looped", 1, shape.width, loops=shape.loops, heads=HEADS)
    return ladder.Route("transformer", shape.depth, shape.width, heads=HEADS)


def k_gap(gru_k: list[int], transformer_k: list[list[int]]) -> list[int]:
    """Per seed: the GRU's k* minus the best k* of any transformer shape at that seed (paired by seed)."""
    return [g - max(ks[i] for ks in transformer_k) for i, g in enumerate(gru_k)]


def cheapest_reaching(runs: list[dict], routes: list, k: int) -> float:
    """FLOPs per token of the cheapest route in ``routes`` whose k* reaches ``k`` in every seed (inf if none)."""
    reached = [ladder.of(runs, r, "flops")[0] for r in routes if min(ladder.of(runs, r, "k_star")) >= k]
    return min(reached, default=math.inf)


def by_shape(runs: list[dict], key: str, bounds: tuple[float, float] | None = None) -> dict[Shape, dict]:
    """Interval over seeds of ``key`` for each shape, in first-seen order, clipped to ``bounds``."""
    shapes = list(dict.fromkeys(r["shape"] for r in runs))
    return {s: stats.mean_ci([r[key] for r in runs if r["shape"] == s], bounds=bounds) for s in shapes}


def run_seeds(run_one, shapes: list[Shape], seeds: list[int], **settings) -> list[dict]:
    """``run_one(shape, seed=..., **settings)`` for every shape and seed."""
    return [run_one(shape, seed=seed, **settings) for shape in shapes for seed in seeds]


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


C7_RULES = (
    Rule("inconclusive", f"the 95% interval of the GRU's k* minus the best transformer shape's (paired by seed) "
         f"holds both zero and {GAP_MIN} steps; about four times the seeds (an interval half as wide) would decide",
         lambda v: v["gap_low"] <= 0 and v["gap_high"] >= GAP_MIN),
    Rule("refuted", f"at equal parameters the recurrent network did not track a chain {GAP_MIN} or more steps "
         "longer than the best transformer shape (interval under that): recurrence bought no serial depth here",
         lambda v: v["gap_high"] < GAP_MIN),
    Rule("nuanced", "the recurrent network tracked a longer chain than every transformer shape at equal "
         f"parameters, as the author says, but the wide shape stored at least {STORAGE_SPREAD:.0%} more bits per "
         "parameter than the deep one (interval above zero): width buys storage, recurrence buys serial steps",
         lambda v: v["measured"] and v["advantage"] >= STORAGE_SPREAD and v["advantage_low"] > 0),
    Rule("supported", "the recurrent network tracked a longer chain than every transformer shape at equal "
         f"parameters, and the wide shape was shown not to store {STORAGE_SPREAD:.0%} more per parameter (interval "
         "under that): the width bought nothing the deep shape lacked",
         lambda v: v["measured"] and v["advantage_high"] < STORAGE_SPREAD),
    Rule("inconclusive", "the recurrent network tracked a longer chain at equal parameters, but the storage runs "
         "stored nothing measurable, filled the table, or left the wide shape's advantage undecided (an interval "
         f"that neither shows it above zero and at least {STORAGE_SPREAD:.0%} nor rules {STORAGE_SPREAD:.0%} out); "
         "a table sized to the models and more exposures would decide", always),
)


def c7_verdict(gap: dict, advantage: dict, measured: bool, evidence: str = "") -> Ruling:
    """C7 from the GRU-minus-best-transformer k* gap at equal parameters (paired by seed) and the storage
    advantage of the shallow-wide shape over the deep-narrow one."""
    values = dict(gap_low=gap["low"], gap_high=gap["high"], advantage=advantage["mean"],
                  advantage_low=advantage["low"], advantage_high=advantage["high"], measured=measured)
    return decide(C7_RULES, values, evidence)


PLATEAU_UNTESTABLE = ("whether LLMs will plateau against other architectures is a forecast about future "
                      "systems and is not testable here")

C10_RULES = (
    Rule("inconclusive", "no recurrent model reached the target chain in every seed, so there is no cheap route "
         "to compare with; longer training would decide; " + PLATEAU_UNTESTABLE,
         lambda v: math.isinf(v["recurrent"])),
    Rule("refuted", "a transformer reached the target chain at no more FLOPs per token than the recurrent "
         "network; " + PLATEAU_UNTESTABLE, lambda v: v["transformer"] <= v["recurrent"]),
    Rule("supported", f"the transformers needed at least {COST_RATIO:g} times the recurrent network's FLOPs per "
         "token to reach the target chain, or did not reach it up to sizes that cost at least that much more; "
         + PLATEAU_UNTESTABLE,
         lambda v: min(v["transformer"], v["largest_tried"]) >= COST_RATIO * v["recurrent"]),
    Rule("nuanced", f"a transformer reached the target chain, dearer than the recurrent network but by less than "
         f"{COST_RATIO:g} times; " + PLATEAU_UNTESTABLE, lambda v: not math.isinf(v["transformer"])),
    Rule("inconclusive", "no transformer reached the target chain, but the largest tried cost less than "
         f"{COST_RATIO:g} times the recurrent network, so the sizes tried cannot show the cost; wider models "
         "would; " + PLATEAU_UNTESTABLE, always),
)


def c10_verdict(transformer_cost: float, recurrent_cost: float, largest_tried: float, evidence: str = "") -> Ruling:
    """C10's testable part, from FLOPs per token: of the cheapest transformer and of the cheapest recurrent
    network that reach the target chain in every seed (inf: none did), and of the dearest transformer tried."""
    values = dict(transformer=transformer_cost, recurrent=recurrent_cost, largest_tried=largest_tried)
    return decide(C10_RULES, values, evidence)


# --- how deep is SmolLM2? ------------------------------------------------------------------------

def levine_threshold(width: int) -> float:
    """Levine et al. (2020): self-attention is depth-efficient below L = log3(width), not above."""
    return math.log(width) / math.log(3)


def smollm_config():
    """SmolLM2's configuration alone (no weights loaded)."""
    from transformers import AutoConfig

    from ..lab import smollm

    return AutoConfig.from_pretrained(smollm.ensure_converted())


# --- sentences the page builds from the results ----------------------------------------------------

CAPACITY_EXPOSURES = 1000  # exposures per fact at which Allen-Zhu and Li measure about 2 bits per parameter


def steps_value(x: float) -> str:
    """A chain length in steps: whole numbers as counts ('12'), means to one decimal ('3.7')."""
    return numbers.count(x) if float(x).is_integer() else f"{x:.1f}"


def steps_interval(stat: dict) -> str:
    """k* over seeds: '12 steps in every seed' when every seed tracked the same, else '3.7 steps (95% CI ...)'."""
    if stat["low"] == stat["high"]:
        return f"{plural_steps(steps_value(stat['mean']))} in every seed"
    text = numbers.interval(stat, "steps", "seeds")
    return text.replace("1 steps", "1 step", 1) if text.startswith("1 steps") else text


def plural_steps(said: str) -> str:
    """'1 step', '-1 step', '3 steps' for a number already written out."""
    return f"{said} {'step' if said.lstrip('+-') == '1' else 'steps'}"


def _signed(x: float, decimals: int, unit: str = "") -> str:
    return f"{x:+.{decimals}f}{unit}"


def signed_steps(stat: dict) -> str:
    """A paired difference in steps: '+10 steps in every seed', or '+3.7 steps (95% CI +1.2 to +6.1 over seeds)'."""
    if stat["low"] == stat["high"]:
        d = 0 if float(stat["mean"]).is_integer() else 1
        return f"{plural_steps(_signed(stat['mean'], d))} in every seed"
    d = min(1, numbers.decimals_for(stat["high"] - stat["low"]))
    return (f"{plural_steps(_signed(stat['mean'], d))} (95% CI {_signed(stat['low'], d)} to {_signed(stat['high'], d)} "
            "over seeds)")


def signed_share(stat: dict) -> str:
    """A relative difference as a signed percentage with its interval over seeds."""
    if stat["low"] == stat["high"]:
        return f"{_signed(100 * stat['mean'], 0, '%')} in every seed"
    d = min(1, numbers.decimals_for(100 * (stat["high"] - stat["low"])))
    return (f"{_signed(100 * stat['mean'], d, '%')} (95% CI {_signed(100 * stat['low'], d, '%')} to "
            f"{_signed(100 * stat['high'], d, '%')} over seeds, paired by seed)")


def storage_problem(shares: dict[str, dict]) -> str | None:
    """Why the storage runs cannot compare shapes (None when they can, exactly when ``storage_measured``
    holds): each shape, by label, whose stored share of the table has an interval reaching zero or whose
    mean fills the table."""
    empty = [label for label, s in shares.items() if s["low"] <= 0]
    full = [f"the {label} shape filled {numbers.percent(s['mean'])} of the table" for label, s in shares.items()
            if s["low"] > 0 and s["mean"] >= STORAGE_CEILING]
    problems = []
    if len(empty) == 1:
        problems.append(f"the {empty[0]} shape stored nothing measurable (its 95% interval reaches zero)")
    elif empty:
        problems.append(f"the {numbers.listing(empty)} shapes stored nothing measurable (their 95% intervals "
                        "reach zero)")
    return numbers.listing(problems + full) if problems + full else None


def storage_sentence(advantage: dict, problem: str | None) -> str:
    """The storage comparison between the shallow-wide and the deep-narrow shape, as a clause."""
    if problem:
        return f"the storage comparison does not count, because {problem}"
    said = signed_share(advantage)
    if advantage["low"] < STORAGE_SPREAD and advantage["high"] >= STORAGE_SPREAD and advantage["low"] <= 0:
        return (f"whether the shallow-wide shape stores more per parameter than the deep-narrow one is undecided: "
                f"the difference is {said}")
    return f"per parameter the shallow-wide shape stores {said} relative to the deep-narrow one"


def shapes_sentence(depths: list[int], widths: list[int], k: list[dict]) -> str:
    """'the transformer shapes of depth 1 (width 72), 2 (width 52) and 4 (width 36) track 3, 3.7 and 4 steps'."""
    shapes = numbers.listing(f"{d} (width {w})" for d, w in zip(depths, widths))
    tracked = numbers.listing(steps_value(s["mean"]) for s in k)
    return f"the transformer shapes of depth {shapes} track {tracked} steps (means over seeds)"


def capacity_clause(exposures: float) -> str:
    """Whether the storage runs measure capacity: Allen-Zhu and Li's 2 bits per parameter needs about
    CAPACITY_EXPOSURES exposures per fact."""
    seen = numbers.count(exposures)
    if exposures >= CAPACITY_EXPOSURES:
        return (f"with about {seen} exposures per fact these runs reach that, so the numbers approach each shape's "
                "capacity for such facts")
    return (f"with about {seen} exposures per fact these runs stop short of that, so the numbers compare how much "
            "each shape stores in the same training, not capacity")


def capacity_comparable(exposures: float) -> str:
    """The replication table's verdict on comparing our bits per parameter with Allen-Zhu and Li's."""
    if exposures >= CAPACITY_EXPOSURES:
        return (f"yes in exposures (at least {numbers.count(CAPACITY_EXPOSURES)}); random facts, not "
                "biographies")
    return f"no: fewer exposures than their {numbers.count(CAPACITY_EXPOSURES)}, so not capacity"


def capacity_limitation(exposures: float) -> str:
    """The limitation on storage, in the light of how often each fact was seen."""
    seen = numbers.count(exposures)
    if exposures >= CAPACITY_EXPOSURES:
        return (f"Each fact is seen about {seen} times, as often as in the capacity measurements cited; the "
                "facts are random three-letter names, so the bits stored say nothing about structured knowledge.")
    return (f"Each fact is seen about {seen} times, fewer than the {numbers.count(CAPACITY_EXPOSURES)} exposures "
            "at which capacity was measured, so the storage runs compare shapes in one training budget, not their "
            "capacity.")


def shortcut_clause(best_k: float, length: int, transformer_cost: float) -> str:
    """What the transformers did with S3's constant-depth shortcut, from the best mean k* of any transformer
    route, the training length and the FLOPs of the cheapest transformer reaching the target (inf: none)."""
    if best_k >= length:
        return ("a transformer here tracked the whole training length in every seed, so this budget was enough "
                "for one to find a solution that does not run out of depth")
    if not math.isinf(transformer_cost):
        return ("a transformer here reached the target chain in every seed, though none tracked the whole training "
                "length in every seed")
    return "no transformer here reached the target chain in every seed in this budget"


def cost_sentence(transformer_cost: float, recurrent_cost: float, largest: float, target: int) -> str:
    """The cost of the cheapest route of each kind that tracks ``target`` steps in every seed (inf: none did)."""
    steps = numbers.plural(target, "step")
    if math.isinf(recurrent_cost) and math.isinf(transformer_cost):
        return (f"Neither a GRU nor a transformer tried tracks {steps} in every seed (the transformers tried cost "
                f"up to {numbers.count(largest)} FLOPs per token).")
    if math.isinf(recurrent_cost):
        return (f"No GRU tried tracks {steps} in every seed; the cheapest transformer that does costs "
                f"{numbers.count(transformer_cost)} FLOPs per token.")
    gru = f"The cheapest GRU that tracks {steps} in every seed costs {numbers.count(recurrent_cost)} FLOPs per token"
    if math.isinf(transformer_cost):
        return f"{gru}; no transformer tried does, up to {numbers.count(largest)}."
    return (f"{gru}; the cheapest transformer that does costs {numbers.count(transformer_cost)}, "
            f"{transformer_cost / recurrent_cost:.1f} times as much.")


def extra_row(label: str | None, k: dict | None) -> tuple[str, str]:
    """The replication table's 'ours' and 'comparable?' cells for a route the full profile adds."""
    if k is None:
        return "runs in the full profile only", "not in this run (quick profile)"
    return f"{label} tracks {steps_interval(k)}", "qualitatively: S3 learned from scratch, at toy scale"


def feedback_sentence(ran: bool) -> str:
    """Whether the feedback and looped routes are in this run."""
    if ran:
        return ("The full profile adds a two-layer feedback transformer and a looped block at the one-block "
                "shape's width.")
    return "The feedback and looped transformers run in the full profile only (see the limitations)."
