"""Page ``book/depth_width.md``, claims C7 and C10: shapes and recurrence at one parameter budget, and costs.

Shapes and a recurrent network at a fixed parameter budget, the cost of each route to a serial target, and
the serial depth of SmolLM2. Every serial model trains with a length curriculum (short chains first) and a
positive control (held-out accuracy at the training length against ``train.LEARNED``); no rule reads a
model that did not learn. The verdicts come from ``TABLES``: ``power.Table`` objects whose ``summarise``
the page runs on the real measurements and whose worlds simulate raw measurements at each profile's
design.

Transformers are ``tiny.llama`` blocks (the SmolLM2 block at toy size) described by a ``Shape``; the
recurrent route is ``tiny.RecurrentLM`` (a GRU), the feedback route ``tiny.FeedbackTransformer``. Two
tasks: memorising a table of random facts (what width is said to buy) and S3 state tracking from the group
ladder (``lab.tasks.group_task``, trained and scored by ``lab.ladder``), which needs a chain of updates and
has no shortcut that transformers find quickly.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..lab import ladder, numbers, parallel, stats, tasks, tiny, train
from ..machinery.power import Table, World
from ..machinery.rules import Rule, always

HEADS = 2
WIDTH_STEP = 2 * HEADS  # rotary positions need an even head dimension
FF_MULT = 4

# Verdict thresholds, defended in the chapter.
GAP_MIN = 2              # steps of chain the GRU must track beyond the best transformer shape: twice the
                         # spread between seeds of one transformer shape in scratch runs (2 to 3 steps)
STORAGE_LEAD = 1 / 3     # how much more per parameter the wide shape must store (a ratio of 4/3, geometric mean
                         # over seeds) to count as width buying storage
STORAGE_SEED_SD = 0.1    # spread of a seed's bits per parameter (log scale) in the storage worlds: two and a half
                         # times the largest that development runs of the full storage recipe showed (see SETTINGS)
STORAGE_CEILING = 0.9    # a shape that stores this share of the table is limited by the table, not by its shape
TARGET_SHARE = 0.5       # the target chain is this share of the training length: about twice what transformers
                         # tracked on S3 in scratch runs, well short of what the GRU tracked
COST_RATIO = 2.0         # a route must cost this many times the FLOPs of another to count as much dearer: more
                         # than one step of the size grids (widths double), so not an artefact of where k falls
LEARNED = train.LEARNED  # held-out accuracy at the training length a serial model needs before a rule reads it
GROUP = "s3"
CHANCE = 1 / len(tasks.group_elements(GROUP))
CURRICULUM_START = 2     # the shortest chain of the curriculum
CURRICULUM_SHARE = 0.25  # chains grow to the training length over this share of training, then stay there (as
                         # in serial_depth, whose 4x64 transformer learned S3 with it)
HELD_OUT_SEED = 20_000   # held-out sequences for the positive control, apart from the evaluation's 10_000
ATTRIBUTES = 64   # 6 bits per fact
STORAGE_BATCH = 512  # facts per storage training step
STORAGE_LEARNED = 2 / ATTRIBUTES  # a storage model "learned" when it recalls attributes at twice chance: the
                                  # amount stored is the measurement, so only storing nothing disqualifies

# Every profile-dependent size, in one place; the page reads SETTINGS[profile] and the designs count the same
# independent units. quick fits its 300 s budget on one thread; full about 40 minutes on two (two models at a time).
# Transformers in full: the serial-depth chapter's recipe, 12,000 steps at 3e-3 with the chains ramped over a quarter
# of training. With it, in development runs (seeds 0 to 2), the 2x28 shape learned S3 in one seed of three (85%, 95%,
# 76% held out), 4x20 reached 82%, 85% and 94%, 1x40 stayed near 63%; at 2,500 steps at 2e-3 no shape learned in any
# of five seeds (55% to 61%). A development run of full (seed 0, 1,771 s) gave: 2x28 and 4x20 learned in 2 of 5 seeds
# each, 1x40 and 1x80 in none; C7 inconclusive (storage undecided), C10 supported. The widened route is one shape,
# 1x80: with 1x160 as well the record did not fit the hour (1x160 alone took two fifths of the transformers' time).
# Storage: 16,384 facts of 64 attributes (98,304 bits, more than 2 bits per parameter of every shape, so none can
# fill the table) at learning rate 3e-3. With 16 attributes (65,536 bits), 6,000 steps gave the 1x40 shape 0.86, 0.44
# and 0.49 bits per parameter in seeds 0 to 2, and the record at seed 4000 spread by about 0.3 (log scale) in both
# shapes the rule reads; 12,000 steps still gave 1.03 and 0.77 (seeds 1 and 2). With 64 attributes, 6,000 steps gave
# 1x40 1.34, 1.30 and 1.33, 2x28 1.71, 1.65 and 1.79, 4x20 1.79, 1.86 and 1.77: spreads of at most 0.04 (log scale),
# well within STORAGE_SEED_SD.
SETTINGS = {
    "quick": dict(seeds=3, length=12, steps=500, lr=3e-3, transformer_steps=600, transformer_lr=3e-3,
                  budget=25_000, depths=[1, 2, 4], gru_widths=[32, 64], widen=[2], storage_steps=800,
                  storage_lr=3e-3, facts=16_384),
    "full": dict(seeds=5, length=12, steps=600, lr=3e-3, transformer_steps=12_000, transformer_lr=3e-3,
                 budget=25_000, depths=[1, 2, 4], gru_widths=[16, 32, 64], widen=[2], storage_steps=6000,
                 storage_lr=3e-3, facts=16_384),
}


def design(settings: dict) -> dict:
    """The independent units a profile draws (seeds) and what it draws them for: the chain length, the target
    chain, the transformer family at its parameter budget, the widened one-block shapes and the GRU widths."""
    return {"seeds": settings["seeds"], "length": settings["length"],
            "target": math.ceil(TARGET_SHARE * settings["length"]), "budget": settings["budget"],
            "depths": settings["depths"], "widen": settings["widen"], "gru_widths": settings["gru_widths"]}


DESIGNS = {profile: design(s) for profile, s in SETTINGS.items()}


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


def every_fact(table: FactTable) -> train.Batch:
    """Every fact once, scored at the attribute: memorisation's in-distribution set is the table itself."""
    targets = torch.full_like(table.names, train.IGNORE)
    targets[:, -1] = table.attributes + table.alphabet
    return table.names, targets


def run_storage(shape: Shape, table: FactTable, steps: int, batch: int, seed: int, lr: float) -> dict:
    model = build_model(shape, table.vocab, seed)
    train.train(model, fact_batches(table, batch), steps, seed=seed, lr=lr)
    control = train.positive_control(model, every_fact(table), 1 / table.n_attributes, STORAGE_LEARNED,
                                     at=f"recall of all {len(table.names)} facts")
    params = tiny.count_params(model)
    bits = bits_stored(model, table)
    return {"shape": shape, "seed": seed, "params": params, "bits": bits, "bits_per_param": bits / params,
            "share": bits / table.bits, "exposures": steps * batch / len(table.names), "control": control}


# --- serial state tracking at matched parameters (C7) and the cost of each route (C10) ----------------

def serial_route(shape: Shape) -> ladder.Route:
    """The ladder route of a transformer shape (same width, depth, heads and looping)."""
    if shape.loops > 1:
        return ladder.Route("looped", 1, shape.width, loops=shape.loops, heads=HEADS)
    return ladder.Route("transformer", shape.depth, shape.width, heads=HEADS)


def serial_routes(design: dict) -> dict[str, list[ladder.Route]]:
    """The routes a design trains: the family at its budget, the widened one-block shapes, the GRUs."""
    shapes = family(design["budget"], list(design["depths"]))
    wide = [Shape(1, m * shapes[0].width) for m in design["widen"]]
    return {"family": [serial_route(s) for s in shapes], "wide": [serial_route(s) for s in wide],
            "gru": [ladder.Route("gru", 1, w) for w in design["gru_widths"]]}


def matched_gru(routes: dict[str, list[ladder.Route]], params: dict[ladder.Route, int]) -> ladder.Route:
    """The GRU whose parameter count is nearest the family's first shape."""
    return min(routes["gru"], key=lambda r: abs(params[r] - params[routes["family"][0]]))


def held_out(length: int) -> train.Batch:
    """Sequences at the training length that no training batch and no evaluation batch contains."""
    return tasks.group_task(ladder.SAMPLES, length, GROUP)(torch.Generator().manual_seed(HELD_OUT_SEED))


PROBES = 10  # points on each serial model's learning curve, evenly spaced over its training


def train_serial(route: ladder.Route, length: int, steps: int, seed: int, lr: float) -> dict:
    """Train ``route`` on S3 chains up to ``length`` (curriculum), check it learned them, measure it to twice that.

    Every ``steps / PROBES`` steps the run records its held-out accuracy and k* at the training length against
    the training compute spent so far: its learning curve, and the compute it took to solve the task."""
    model = ladder.build(route, GROUP, seed, max_len=8 * length + 8)
    ramp = round(CURRICULUM_SHARE * steps)
    chains = ladder.curriculum(lambda n: tasks.group_task(ladder.BATCH, n, GROUP), length, ramp, CURRICULUM_START)
    flops = ladder.flops_per_token(model, route, length + 1)
    sequences = held_out(length)

    def probe(m):
        return {"held_out": train.accuracy(m, sequences),
                "k_star": ladder.longest_tracked(ladder.accuracy_by_chain(m, GROUP, length))}

    log = train.train(model, chains, steps, seed=seed, lr=lr, probe=probe, probe_every=max(1, steps // PROBES))
    control = train.positive_control(model, sequences, CHANCE, at=f"S3 chains of {length}")
    acc = ladder.accuracy_by_chain(model, GROUP, 2 * length)
    spent = lambda s: ladder.training_flops(flops, s, length, ramp, CURRICULUM_START)  # noqa: E731
    curve = [{"steps": s, "train_flops": spent(s), **point} for s, point in log.probes]
    return {"route": route, "seed": seed, "accuracy": acc, "control": control, "learned": control["learned"],
            "k_star": ladder.longest_tracked(acc[:length]), "params": tiny.count_params(model),
            "flops": flops, "curve": curve, "seconds": log.seconds,
            "train_flops": spent(steps)}


def solved_at(curve: list[dict], target: int) -> float | None:
    """Training FLOPs at the first probe where the model had learned (held-out accuracy at least LEARNED) and
    tracked ``target`` steps; None if it never did."""
    return next((p["train_flops"] for p in curve if p["held_out"] >= LEARNED and p["k_star"] >= target), None)


def compute_to_solve(runs: list[dict], target: int) -> float | None:
    """Training compute at which a route first solved the task: its quickest seed's; None if no seed did."""
    return min((c for r in runs if (c := solved_at(r["curve"], target)) is not None), default=None)


def by_shape(runs: list[dict], key: str, bounds: tuple[float, float] | None = None) -> dict[Shape, dict]:
    """Interval over seeds of ``key`` for each shape, in first-seen order, clipped to ``bounds``."""
    shapes = list(dict.fromkeys(r["shape"] for r in runs))
    return {s: stats.mean_ci([r[key] for r in runs if r["shape"] == s], bounds=bounds) for s in shapes}


def run_seeds(run_one, shapes: list, seeds: list[int], **settings) -> list[dict]:
    """``run_one(shape=..., seed=..., **settings)`` for every shape and seed, as many at a time as the kernel has
    threads, shape by shape."""
    jobs = [dict(shape=shape, seed=seed, **settings) for shape in shapes for seed in seeds]
    return parallel.run_all(run_one, jobs, cost=lambda job: job["shape"].passes)


def train_all(routes: list[ladder.Route], length: int, seeds: list[int], budget_of) -> list[dict]:
    """``train_serial`` for every route and seed (``budget_of(route)``: its steps and learning rate), as many at a
    time as the kernel has threads, route by route."""
    jobs = [dict(route=r, length=length, seed=s, **budget_of(r)) for r in routes for s in seeds]
    return parallel.run_all(train_serial, jobs, cost=lambda job: job["steps"] * job["route"].passes)


# --- the raw measurements the tables read ---------------------------------------------------------
# Serial: per route, its kind, FLOPs per token and one {accuracy to twice the training length, learned} per
# seed. Storage: per family shape, one {bits_per_param, share} per seed. The page builds this from its runs;
# the worlds draw it.

def serial_raw(runs: list[dict], routes: dict[str, list[ladder.Route]], gru: ladder.Route) -> dict:
    def entry(route, group):
        mine = sorted((r for r in runs if r["route"] == route), key=lambda r: r["seed"])
        return {"group": group, "flops": mine[0]["flops"],
                "runs": [{"accuracy": np.asarray(r["accuracy"]), "learned": r["learned"]} for r in mine]}
    return {"routes": {r.label: entry(r, group) for group, rs in routes.items() for r in rs}, "gru": gru.label}


def storage_raw(storage_runs: list[dict], shallow: Shape, deep: Shape) -> dict:
    per_shape = {}
    for r in sorted(storage_runs, key=lambda r: r["seed"]):
        per_shape.setdefault(r["shape"].label, []).append({"bits_per_param": r["bits_per_param"], "share": r["share"]})
    return {"shapes": per_shape, "shallow": shallow.label, "deep": deep.label}


def learned_in_every_seed(runs: list[dict]) -> bool:
    return bool(runs) and all(r["learned"] for r in runs)


def seeds_learned(runs: list[dict]) -> int:
    return sum(r["learned"] for r in runs)


def chain_longest(run: dict) -> int:
    """The longest chain a run tracks, up to twice the training length."""
    return ladder.longest_tracked(run["accuracy"])


# --- verdicts ------------------------------------------------------------------------------------

BPP_FLOOR = 1e-3  # bits per parameter below which a run counts as storing this little (a log needs a floor)


def log_storage_ratio(bpp_wide: float, bpp_deep: float) -> float:
    """log of the wide shape's bits per parameter over the deep one's: 0 when equal, symmetric in the two."""
    return math.log(max(bpp_wide, BPP_FLOOR) / max(bpp_deep, BPP_FLOOR))


def storage_measured(stored_share: list[dict]) -> bool:
    """Storage tells shapes apart only if every shape stored clearly more than nothing (interval above 0)
    and none filled the table (mean share under STORAGE_CEILING): otherwise the comparison measures noise
    or the size of the table."""
    return all(s["low"] > 0 and s["mean"] < STORAGE_CEILING for s in stored_share)


def storage_summary(storage: dict) -> dict:
    """Whether storage was measured, and how much more the wide shape stores per parameter than the deep one
    (ratio - 1; the geometric mean over seeds, paired by seed, with its interval: the t interval of the log
    ratios, mapped back)."""
    shares = [stats.mean_ci([r["share"] for r in runs], bounds=(0, 1)) for runs in storage["shapes"].values()]
    pairs = zip(storage["shapes"][storage["shallow"]], storage["shapes"][storage["deep"]])
    logs = stats.mean_ci([log_storage_ratio(a["bits_per_param"], b["bits_per_param"]) for a, b in pairs])
    advantage = {**logs, **{k: math.expm1(logs[k]) for k in ("mean", "low", "high")}}
    return {"measured": storage_measured(shares), "advantage": advantage,
            "stored_nothing": any(s["low"] <= 0 for s in shares),
            "filled": any(s["mean"] >= STORAGE_CEILING for s in shares)}


def storage_seed_sd(storage: dict) -> dict[str, float]:
    """Per shape, the standard deviation over seeds of log bits per parameter: the spread the worlds must not
    understate (``STORAGE_SEED_SD``)."""
    return {label: float(np.std([math.log(max(r["bits_per_param"], BPP_FLOOR)) for r in runs], ddof=1))
            for label, runs in storage["shapes"].items()}


def spread_sentence(sds: dict[str, float]) -> str:
    """This run's largest spread of bits per parameter between seeds, against what the storage worlds assume."""
    widest = max(sds, key=sds.get)
    said = (f"Between seeds, one shape's bits per parameter spread by at most {sds[widest]:.2f} on a log scale (the "
            f"{widest} shape, standard deviation of the natural log)")
    if sds[widest] <= STORAGE_SEED_SD:
        return f"{said}, within the {STORAGE_SEED_SD:g} the storage worlds behind the power columns assume."
    return (f"{said}, more than the {STORAGE_SEED_SD:g} the storage worlds behind the power columns assume, so the "
            "power they give the C7 rows that read storage is optimistic.")


NONE = float("nan")   # a gap that cannot be computed: no transformer shape learned


def best_learned_chain(raw: dict) -> int | None:
    """The longest chain (to twice the training length) that any family run which learned the task tracks: the
    transformers' best showing at this parameter budget; None when no family run learned."""
    chains = [chain_longest(r) for e in raw["routes"].values() if e["group"] == "family" for r in e["runs"]
              if r["learned"]]
    return max(chains, default=None)


def serial_gap(raw: dict) -> dict:
    """The matched GRU's longest tracked chain (to twice the training length) minus the best that any learned
    family run tracks, over the GRU's seeds; nan when no family run learned."""
    best = best_learned_chain(raw)
    if best is None:
        return {"mean": NONE, "low": NONE, "high": NONE, "n": 0}
    return stats.mean_ci([chain_longest(g) - best for g in raw["routes"][raw["gru"]]["runs"]])


def summarise_c7(raw: dict, design: dict) -> dict:
    """What the C7 rules read: the matched GRU learned?, how many family shapes learned, the gap in chains
    tracked between the GRU and the best learned shape, and the storage comparison."""
    routes = raw["serial"]["routes"]
    gap, storage = serial_gap(raw["serial"]), storage_summary(raw["storage"])
    known = lambda x: None if math.isnan(x) else x  # noqa: E731  (results files carry no NaN)
    return dict(gru_learned=learned_in_every_seed(routes[raw["serial"]["gru"]]["runs"]),
                shapes_learned=sum(seeds_learned(e["runs"]) > 0 for e in routes.values() if e["group"] == "family"),
                best_learned=best_learned_chain(raw["serial"]),
                gap=known(gap["mean"]), gap_low=known(gap["low"]), gap_high=known(gap["high"]),
                measured=storage["measured"], stored_nothing=storage["stored_nothing"], filled=storage["filled"],
                advantage=storage["advantage"]["mean"], advantage_low=storage["advantage"]["low"],
                advantage_high=storage["advantage"]["high"])


C7_RULES = (
    Rule("inconclusive", f"the GRU of matched size, the check that the task can be learned in this budget, did not "
         f"learn it (held-out accuracy at the training length under {LEARNED:.0%}) in every seed; longer training "
         "would decide", lambda v: not v["gru_learned"]),
    Rule("inconclusive", f"no transformer shape at equal parameters learned the task (held-out accuracy at the "
         f"training length at least {LEARNED:.0%}) in any seed, so the serial comparison would read only models "
         "that did not learn, and a failure to learn is not evidence of too little depth; training until a shape "
         "learns would decide", lambda v: v["shapes_learned"] == 0),
    Rule("inconclusive", f"the 95% interval, over the GRU's seeds, of its longest tracked chain (to twice the "
         f"training length) minus the longest any learned transformer run tracks holds both zero and {GAP_MIN} "
         "steps; more seeds would decide",
         lambda v: v["gap_low"] <= 0 and v["gap_high"] >= GAP_MIN),
    Rule("refuted", f"at equal parameters the recurrent network did not track a chain at least {GAP_MIN} steps "
         "longer than the longest any learned transformer run tracks (interval under that): recurrence bought no "
         "serial depth",
         lambda v: v["gap_high"] < GAP_MIN),
    Rule("nuanced", "the recurrent network tracked a longer chain than any learned transformer run at equal "
         f"parameters, as the author says, but the wide shape stored at least {STORAGE_LEAD:.0%} more bits per "
         "parameter than the deep one (geometric mean over seeds; interval above zero): width buys storage, "
         "recurrence buys serial steps",
         lambda v: v["measured"] and v["advantage"] >= STORAGE_LEAD and v["advantage_low"] > 0),
    Rule("supported", "the recurrent network tracked a longer chain than any learned transformer run at equal "
         f"parameters, and the wide shape was shown not to store {STORAGE_LEAD:.0%} more per parameter (interval "
         "under that): the width bought nothing the deep shape lacked",
         lambda v: v["measured"] and v["advantage_high"] < STORAGE_LEAD),
    Rule("inconclusive", "the recurrent network tracked a longer chain at equal parameters, but some shape's "
         "storage run stored nothing measurable (its stored share's interval reaches zero); more exposures would "
         "decide", lambda v: v["stored_nothing"]),
    Rule("inconclusive", "the recurrent network tracked a longer chain at equal parameters, but some shape filled "
         f"the fact table (mean stored share at least {STORAGE_CEILING:.0%}), so storage measures the table's size; "
         "a larger table would decide", lambda v: v["filled"]),
    Rule("inconclusive", "the recurrent network tracked a longer chain at equal parameters, but the wide shape's "
         f"storage advantage is undecided: its interval neither lies above zero with a mean of at least "
         f"{STORAGE_LEAD:.0%} nor rules {STORAGE_LEAD:.0%} out; more seeds would decide", always),
)


def solves(run: dict, target: int) -> bool:
    """The run learned the task and tracks ``target`` steps."""
    return run["learned"] and chain_longest(run) >= target


def cheapest_learned(raw: dict, groups: tuple[str, ...], target: int) -> float | None:
    """FLOPs per token of the cheapest route in ``groups`` with a seed that learned the task and tracks ``target``
    steps (None: none did). One such seed shows the route can do it at that price."""
    costs = [e["flops"] for e in raw["routes"].values()
             if e["group"] in groups and any(solves(r, target) for r in e["runs"])]
    return min(costs, default=None)


def summarise_c10(raw: dict, design: dict) -> dict:
    """What the C10 rules read: the cheapest learned transformer and recurrent routes reaching the target chain."""
    return dict(transformer=cheapest_learned(raw, ("family", "wide"), design["target"]),
                recurrent=cheapest_learned(raw, ("gru",), design["target"]))


C10_RULES = (
    Rule("inconclusive", f"no recurrent model learned the task (held-out accuracy at least {LEARNED:.0%}) and "
         "tracked the target chain in any seed, so there is no cheap route to compare with; longer training "
         "would decide", lambda v: v["recurrent"] is None),
    Rule("inconclusive", "no transformer shape, the widened ones and the deepened ones alike, learned the task "
         f"(held-out accuracy at least {LEARNED:.0%}) and tracked the target chain in any seed, so there is no "
         "transformer cost to compare: what a transformer that did not learn would have cost is unknown; training "
         "until one learns would decide",
         lambda v: v["transformer"] is None),
    Rule("supported", f"the cheapest transformer that learned and reached the target chain cost at least "
         f"{COST_RATIO:g} times the recurrent network's FLOPs per token",
         lambda v: v["transformer"] >= COST_RATIO * v["recurrent"]),
    Rule("refuted", f"a transformer that learned reached the target chain at less than {COST_RATIO:g} times the "
         "recurrent network's FLOPs per token: not the exorbitant price the claim names", always),
)


# --- worlds: raw measurements where each outcome is the truth -------------------------------------

def simulated_runs(rng: np.random.Generator, tracked: list[int], length: int) -> list[dict]:
    """Seeds of one route, seed i tracking about ``tracked[i]`` steps (give or take one); learned is the held-out
    accuracy at the training length, read off the curve."""
    runs = []
    for t in tracked:
        acc = ladder.simulated_accuracy(rng, max(0, t + int(rng.integers(-1, 2))), length, CHANCE)
        runs.append({"accuracy": acc, "learned": bool(acc[:length].mean() >= LEARNED)})
    return runs


@functools.cache
def route_costs(budget: int, depths: tuple, widen: tuple, gru_widths: tuple, length: int) -> dict[str, float]:
    """FLOPs per token of every route a design trains, from the models themselves (built once, untrained)."""
    routes = serial_routes(dict(budget=budget, depths=depths, widen=widen, gru_widths=gru_widths))
    return {r.label: ladder.flops_per_token(ladder.build(r, GROUP, 0, max_len=8 * length + 8), r, length + 1)
            for rs in routes.values() for r in rs}


def world_serial(rng, design, tracks) -> dict:
    """Serial raw measurements where seed i of ``route`` (of ``group``) tracks ``tracks(group, route, length, i)``."""
    routes = serial_routes(design)
    costs = route_costs(design["budget"], tuple(design["depths"]), tuple(design["widen"]),
                        tuple(design["gru_widths"]), design["length"])
    length, seeds = design["length"], design["seeds"]
    entries = {r.label: {"group": g, "flops": costs[r.label],
                         "runs": simulated_runs(rng, [tracks(g, r, length, i) for i in range(seeds)], length)}
               for g, rs in routes.items() for r in rs}
    # the GRU of matched size is the widest in every profile: its parameters are nearest the family's
    return {"routes": entries, "gru": routes["gru"][-1].label}


def world_storage(rng, design, advantage: float) -> dict:
    """Storage where the shallow shape stores ``advantage`` more bits per parameter than the deep one, each seed's
    bits per parameter spread by ``STORAGE_SEED_SD`` (log scale) and each shape storing about 40% of the table."""
    shapes = family(design["budget"], list(design["depths"]))
    per_shape = {}
    for i, s in enumerate(shapes):
        lift = 1 + advantage if i == 0 else 1.0
        per_shape[s.label] = [{"bits_per_param": lift * math.exp(rng.normal(0, STORAGE_SEED_SD)),
                               "share": 0.4 * math.exp(rng.normal(0, STORAGE_SEED_SD))}
                              for _ in range(design["seeds"])]
    return {"shapes": per_shape, "shallow": shapes[0].label, "deep": shapes[-1].label}


STUCK = lambda g, r, n, i: 2 * n if g == "gru" else 3  # noqa: E731  no transformer learns, the GRUs do


def c7_world(tracks, advantage: float):
    return lambda rng, design: {"serial": world_serial(rng, design, tracks),
                                "storage": world_storage(rng, design, advantage)}


# The shapes learn but their shortcut stops a step past the training length; the GRU keeps going.
SHORTCUT = lambda g, r, n, i: 2 * n if g == "gru" else n + 1  # noqa: E731
# As SHORTCUT, but only the first two seeds of each transformer find the shortcut; the others stall.
SOME_SEEDS = lambda g, r, n, i: 2 * n if g == "gru" else n + 1 if i < 2 else 3  # noqa: E731

C7_WORLDS = (
    World("inconclusive", "no transformer shape learns, the GRU does", c7_world(STUCK, 0.0)),
    World("refuted", "every shape learns a solution that runs to twice the training length, as the GRU's does",
          c7_world(lambda g, r, n, i: 2 * n, 0.0)),
    World("nuanced", "the shapes learn a shortcut that stops past the training length, the GRU keeps going, and "
          "the wide shape stores 50% more per parameter", c7_world(SHORTCUT, 0.5)),
    World("supported", "the shapes learn a shortcut that stops past the training length, the GRU keeps going, and "
          "every shape stores the same per parameter", c7_world(SHORTCUT, 0.0)),
    World("supported", "as the last, but each shape finds the shortcut in two seeds only; the others stall",
          c7_world(SOME_SEEDS, 0.0)),
)


def c10_world(tracks):
    return lambda rng, design: world_serial(rng, design, tracks)


C10_WORLDS = (
    World("inconclusive", "only the GRUs learn", c10_world(STUCK)),
    World("supported", "only the widened one-block transformer learns; every GRU from width 32 does",
          c10_world(lambda g, r, n, i: 2 * n if (g == "gru" and r.width >= 32) or g == "wide" else 3)),
    World("supported", "only the deepest family shape learns, in one seed; every GRU from width 32 does",
          c10_world(lambda g, r, n, i: 2 * n if (g == "gru" and r.width >= 32) or (g == "family" and r.depth == 4
                                                                              and i == 0) else 3)),
    World("refuted", "the one-block family shape learns; only the widest GRU does",
          c10_world(lambda g, r, n, i: 2 * n if (g == "gru" and r.width >= 64) or (g == "family" and r.depth == 1)
                    else 3)),
)

TABLES = {"C7": Table("C7", C7_RULES, summarise_c7, C7_WORLDS, DESIGNS),
          "C10": Table("C10", C10_RULES, summarise_c10, C10_WORLDS, DESIGNS)}


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
    d = share_decimals(stat)
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
    if advantage["low"] < STORAGE_LEAD and advantage["high"] >= STORAGE_LEAD and advantage["low"] <= 0:
        return (f"whether the shallow-wide shape stores more per parameter than the deep-narrow one is undecided: "
                f"the difference is {said}")
    if advantage["low"] > 0 or advantage["high"] < 0:
        word = "more" if advantage["mean"] > 0 else "less"
        d = share_decimals(advantage)
        return (f"per parameter the shallow-wide shape stores {percent_apart(advantage['mean'], d)}% {word} than the "
                f"deep-narrow one{interval_apart(advantage, word)}")
    return f"per parameter the shallow-wide shape stores {said} relative to the deep-narrow one"


def share_decimals(stat: dict) -> int:
    """Decimals a percentage needs for its interval (none when the seeds agree), as ``signed_share`` gives them."""
    return 0 if stat["low"] == stat["high"] else min(1, numbers.decimals_for(100 * (stat["high"] - stat["low"])))


def percent_apart(x: float, decimals: int) -> str:
    return f"{abs(100 * x):.{decimals}f}"


def interval_apart(stat: dict, word: str) -> str:
    """The interval of a relative difference on one side of zero, in words: ' (95% CI 45% to 87% less, over
    seeds, paired by seed)', or ' in every seed'."""
    if stat["low"] == stat["high"]:
        return " in every seed"
    d = share_decimals(stat)
    near, far = sorted((stat["low"], stat["high"]), key=abs)
    return f" (95% CI {percent_apart(near, d)}% to {percent_apart(far, d)}% {word}, over seeds, paired by seed)"


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


CAPACITY_BITS = 2.0  # bits per parameter Allen-Zhu and Li measure as a model's capacity for such facts


def table_clause(table_bits: float, params: int) -> str:
    """Whether the fact table is larger than the largest shape's capacity, so that no shape can fill it."""
    per_param = numbers.value(table_bits / params, 2)
    if table_bits >= CAPACITY_BITS * params:
        return (f"{per_param} bits per parameter of the largest shape, more than the {CAPACITY_BITS:g} Allen-Zhu and "
                "Li measure as capacity, so no shape can fill it")
    return (f"{per_param} bits per parameter of the largest shape, less than the {CAPACITY_BITS:g} Allen-Zhu and Li "
            "measure as capacity, so a shape may fill it, and then the rule reads no storage comparison")


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
    route, the training length and the FLOPs of the cheapest transformer that learned and reached the target
    (inf: none)."""
    if best_k >= length:
        return ("a transformer here tracked the whole training length in every seed, so this budget was enough "
                "for one to find a solution that does not run out of depth")
    if not math.isinf(transformer_cost):
        return ("a transformer here learned the task and reached the target chain in some seed, though none tracked "
                "the whole training length in every seed")
    return "no transformer here learned the task and reached the target chain in any seed in this budget"


def cost_sentence(transformer_cost: float, recurrent_cost: float, largest: float, target: int) -> str:
    """The cost of the cheapest route of each kind with a seed that learned the task and tracks ``target`` steps
    (inf: none did)."""
    steps = numbers.plural(target, "step")
    if math.isinf(recurrent_cost) and math.isinf(transformer_cost):
        return (f"Neither a GRU nor a transformer tried learned the task and tracks {steps} in any seed (the "
                f"transformers tried cost up to {numbers.count(largest)} FLOPs per token).")
    if math.isinf(recurrent_cost):
        return (f"No GRU tried learned the task and tracks {steps} in any seed; the cheapest transformer with a seed "
                f"that does costs {numbers.count(transformer_cost)} FLOPs per token.")
    gru = (f"The cheapest GRU with a seed that learned the task and tracks {steps} costs "
           f"{numbers.count(recurrent_cost)} FLOPs per token")
    if math.isinf(transformer_cost):
        return f"{gru}; no transformer tried did, up to {numbers.count(largest)}, so its price is unknown."
    return (f"{gru}; the cheapest transformer with such a seed costs {numbers.count(transformer_cost)}, "
            f"{transformer_cost / recurrent_cost:.1f} times as much.")


def learning_curve(runs: list[dict], key: str, bounds: tuple[float, float]) -> tuple[list[float], list[dict]]:
    """A route's curve over seeds: the training FLOPs at each probe, and the interval over seeds of ``key`` there
    (clipped to ``bounds``)."""
    flops = [p["train_flops"] for p in runs[0]["curve"]]
    return flops, [stats.mean_ci([r["curve"][i][key] for r in runs], bounds=bounds) for i in range(len(flops))]


def trained_with(runs: list[dict]) -> float:
    """The training compute a route was given: its last probe's FLOPs."""
    return runs[0]["curve"][-1]["train_flops"]


def compute_table(routes: dict[str, list[dict]], target: int) -> str:
    """A Markdown table: each route's FLOPs per token and the training compute at which its quickest seed had
    learned the task and tracked ``target`` steps, or the compute within which no seed did."""
    lines = [f"| route | forward FLOPs per token | training FLOPs to learn and track {target} steps, quickest seed |",
             "|---|---|---|"]
    for name, runs in routes.items():
        solved = compute_to_solve(runs, target)
        cost = (numbers.scientific(solved) if solved is not None
                else f"not reached within {numbers.scientific(trained_with(runs))}")
        lines.append(f"| {name} | {numbers.count(runs[0]['flops'])} | {cost} |")
    return "\n".join(lines)


def compute_sentence(routes: dict[str, list[dict]], target: int) -> str:
    """The training compute of the cheapest route of each kind to learn the task and track ``target`` steps (its
    quickest seed), or the most compute a kind was given without any of its seeds doing so."""
    said = []
    for kind, name in (("gru", "GRU"), ("transformer", "transformer")):
        mine = {label: runs for label, runs in routes.items() if runs[0]["route"].kind == kind}
        solved = {label: c for label, runs in mine.items() if (c := compute_to_solve(runs, target)) is not None}
        if solved:
            best = min(solved, key=solved.get)
            said.append(f"the cheapest {name} to learn the task and track {numbers.plural(target, 'step')} "
                        f"({best}, its quickest seed) took {numbers.scientific(solved[best])} training FLOPs")
        elif mine:
            most = max(trained_with(runs) for runs in mine.values())
            said.append(f"no {name} did within {numbers.scientific(most)} training FLOPs, the most one was given")
    return "; ".join(said)


def learned_table(routes: dict[str, list[dict]]) -> str:
    """A Markdown table: each route's held-out accuracy at the training length per seed, and how many seeds
    learned (in bold when not all)."""
    lines = ["| route | held-out accuracy at the training length, per seed | seeds that learned |", "|---|---|---|"]
    for name, runs in routes.items():
        scores = ", ".join(numbers.percent(r["control"]["accuracy"], 1) for r in runs)
        count = f"{seeds_learned(runs)} of {len(runs)}"
        lines.append(f"| {name} | {scores} | {count if learned_in_every_seed(runs) else f'**{count}**'} |")
    return "\n".join(lines)


def learned_sentence(routes: dict[str, list[dict]]) -> str:
    """Which routes learned the training length in every seed, in some, and in none (read by no rule)."""
    every = [name for name, runs in routes.items() if learned_in_every_seed(runs)]
    some = [name for name, runs in routes.items() if 0 < seeds_learned(runs) < len(runs)]
    none = [name for name, runs in routes.items() if not seeds_learned(runs)]
    said = f"Learned in every seed: {numbers.listing(every) if every else 'none'}."
    if some:
        said += (f" In some seeds only: {numbers.listing(some)}; the rules read those seeds and leave out the "
                 "others.")
    if none:
        said += (f" In no seed (held-out accuracy under {numbers.percent(LEARNED)}), so no rule reads them: "
                 f"{numbers.listing(none)}.")
    return said
