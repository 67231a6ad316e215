"""Page ``book/serial_depth.md``, claim C5: does following a chain of k dependent steps need depth that grows with k?

The task is the group ladder of ``lab.tasks`` (running products of random elements of Z2, S3 and A5, a
label at every position). Every route trains here with a length curriculum (short chains first) and a
positive control (``lab.train.positive_control``): held-out accuracy at the training length against
``LEARNED``. One trained model gives its accuracy at every chain length k, so sweeping depth gives depth
against k. The routes beside the transformers are a GRU (the author's comparison: a state that builds up
token by token), a one-layer transformer that writes its state as tokens (chain of thought, the second
commenter's unhidden state) and one with as many filler tokens. On the pretrained model, a
variable-binding prompt family (``a=7, b=a, ...``) measures accuracy per hop and the layer where the
answer becomes decodable at the last position (logit lens, with a control label).

The verdicts come from ``TABLES``: each a ``power.Table`` whose ``summarise`` the page runs on the real
measurements and whose worlds simulate raw measurements at each profile's design, so the page can show how
often each outcome is reached where it is the truth.
"""
from __future__ import annotations

import math
import random

import numpy as np
import scipy.stats
import torch

from ..lab import ladder, numbers, parallel, tasks, tiny, train
from ..lab.stats import proportion_ci
from ..machinery.power import Table, World
from ..machinery.rules import Rule, always

TRACKED = ladder.TRACKED  # a chain of length k is tracked when accuracy at it is at least this
LEARNED = train.LEARNED   # held-out accuracy at the training length a route needs before a rule reads it
GROUP = "s3"              # the rung the verdict reads: solvable, not abelian, a shortcut that is hard to find
CHANCE = 1 / len(tasks.group_elements(GROUP))
CURRICULUM_START = 2      # the shortest chain of the curriculum
CURRICULUM_SHARE = 0.25   # chains grow to the training length over this share of training, then stay there (in
                          # development runs a 4x64 transformer that reached 92% with half learned with a quarter)
HELD_OUT_SEED = 20_000    # held-out sequences for the positive control, apart from the evaluation's 10_000
VALIDATION_SEED = 30_000  # the sequences of the learning curves, apart from the control's and the evaluation's
CURVE_POINTS = 20         # points per learning curve, spread evenly over a route's training steps
FIT_MARGIN = 1.5       # one growth law must have this many times lower residual error to be preferred
# SmolLM2's hop experiment counts only hop counts the model answers above chance: the lower end of the
# Wilson interval of its accuracy among the candidates must clear chance (1 / candidates).
HOP_CHAINS = 2         # chains per prompt: the answer is one of this many root digits
HOP_SHOTS = 30         # worked examples of the same hop count before the question (in scratch runs, 30
                       # lifted the zero-hop lookup well above what 3 to 10 gave)
HOP_GROWTH_MIN = 0.5   # layers per hop: half of the one layer per hop the author's picture predicts
LETTERS = "abcdefghjkmnpqrstuvwxyz"

# Every profile-dependent size, in one place; the page reads SETTINGS[profile] and the designs below count
# the same independent units. quick fits its 300 s budget on one thread; full about 45 minutes on two (two
# models at a time). In development runs (seeds 0 to 2) the 4x64 transformer learned S3 at 12 in 12,000 steps
# at 3e-3 with the curriculum over the first quarter; over the first half, one seed of three stayed at 92%,
# and in 6,000 steps none passed 94%; lr 5e-3 was worse (69%).
# full adds the A5 rung (``a5``): the GRU at the training length, at a higher learning rate for longer (in
# scratch runs at 3e-3 it stayed near chance for 1,500 steps; at 1e-2 it reached 94% in 12,000), and the plain
# transformers at the shorter ``a5["lengths"]``, searched shallowest first (``shallowest_first``) with steps in
# proportion to the length up to ``transformer_steps`` at the longest. At the training length the transformers
# stayed under 20% in 6,000 steps (earlier records), and no budget that would teach them fits the hour. In
# scratch runs at 3e-3 (seeds 0 and 1) one layer learned A5 at 2 and not at 3 or 4; two layers learned it at 3
# in 6,000 steps, and at 4 in 20,000 steps (in 12,000, seed 1 stopped at 88%).
# ``shorter``: training lengths under ``length`` at which the plain transformers train again (steps in
# proportion to the length), for the smallest depth that learns against the length. quick trains one shorter
# length, so its two lengths cannot tell the growth laws apart; full trains two (about ten minutes more).
SETTINGS = {
    "quick": dict(seeds=3, length=12, steps=450, lr=3e-3, transformer_steps=900, transformer_lr=3e-3,
                  depths=[1, 2, 4], shorter=[4], hops=[0, 1], hop_items=40, a5=None),
    "full": dict(seeds=3, length=12, steps=550, lr=3e-3, transformer_steps=12000, transformer_lr=3e-3,
                 depths=[1, 2, 4], shorter=[4, 8], hops=[0, 1, 2, 3, 4], hop_items=60,
                 a5=dict(lengths=[2, 3, 4], transformer_steps=20000, transformer_lr=3e-3, gru_steps=20000,
                         gru_lr=1e-2)),
}


def design(settings: dict) -> dict:
    """The independent units a profile draws: seeds per route, depths, chain length, hop counts, questions."""
    return {key: settings[key] for key in ("seeds", "depths", "length", "hops", "hop_items")}


DESIGNS = {profile: design(s) for profile, s in SETTINGS.items()}


# --- training with a curriculum and a positive control ----------------------------------------------

def at_length(group: str, length: int, mode: str, seed: int) -> train.Batch:
    """``ladder.SAMPLES`` sequences at the training length drawn from ``seed``: none is a training batch."""
    return tasks.group_task(ladder.SAMPLES, length, group, mode)(torch.Generator().manual_seed(seed))


def ramp(steps: int) -> int:
    """Steps the curriculum takes to reach the training length."""
    return round(CURRICULUM_SHARE * steps)


def train_route(route: ladder.Route, group: str, length: int, steps: int, seed: int, lr: float) -> dict:
    """Train ``route`` on chains up to ``length`` (curriculum), check it learned them, measure it to twice that.
    The learning curve is accuracy at the training length on validation sequences, ``CURVE_POINTS`` times."""
    model = ladder.build(route, group, seed, max_len=8 * length + 8)
    chains = ladder.curriculum(lambda n: tasks.group_task(ladder.BATCH, n, group, route.mode), length,
                               ramp(steps), CURRICULUM_START)
    validation = at_length(group, length, route.mode, VALIDATION_SEED)
    log = train.train(model, chains, steps, seed=seed, lr=lr, probe=lambda m: train.accuracy(m, validation),
                      probe_every=max(1, steps // CURVE_POINTS))
    chance = 1 / len(tasks.group_elements(group))
    control = train.positive_control(model, at_length(group, length, route.mode, HELD_OUT_SEED), chance,
                                     at=f"{group.upper()} chains of {length}")
    acc = ladder.accuracy_by_chain(model, group, 2 * length, route.mode)
    context = (2 if route.mode != "none" else 1) * length + 1
    return {"route": route, "seed": seed, "group": group, "accuracy": acc, "control": control,
            "learned": control["learned"], "k_star": ladder.longest_tracked(acc[:length]),
            "params": tiny.count_params(model), "flops": ladder.flops_per_token(model, route, context),
            "curve": log.probes, "steps": steps, "lr": lr, "seconds": log.seconds}


def training_rate(run: dict, length: int) -> float:
    """FLOP/s of a plain route's training (one token per element): its training compute over its seconds."""
    flops = ladder.training_flops(run["flops"], run["steps"], length, ramp(run["steps"]), CURRICULUM_START)
    return flops / run["seconds"]


def sweeps(plans: dict[str, tuple[list[ladder.Route], str, object]], seeds: list[int], length: int) -> dict:
    """Every route of every plan at every seed, as many at a time as the kernel has threads. A plan is
    (routes, group, ``budget_of``), ``budget_of(route)`` giving its training steps and learning rate (and a
    training length other than ``length``, if it sets one); the runs come back per plan, route by route, seed
    by seed."""
    jobs = [{"route": r, "group": group, "length": length, "seed": s, **budget_of(r)}
            for routes, group, budget_of in plans.values() for r in routes for s in seeds]
    done = iter(parallel.run_all(train_route, jobs, cost=lambda job: job["steps"] * job["route"].passes))
    return {name: [next(done) for _ in routes for _ in seeds] for name, (routes, _, _) in plans.items()}


# --- k* against depth ------------------------------------------------------------------------------

def fit_slope(points: list[tuple[float, float]]) -> dict:
    """Least-squares slope of y on x over (x, y) points (here one per seed and depth, or per seed and length),
    with a 95% t interval; nan when under three points or a single x."""
    depths = np.array([p[0] for p in points], dtype=float)
    chains = np.array([p[1] for p in points], dtype=float)
    if len(depths) < 3 or len(set(depths)) < 2:
        return {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": len(depths)}
    fit = scipy.stats.linregress(depths, chains)
    half = scipy.stats.t.ppf(0.975, len(depths) - 2) * fit.stderr
    return {"mean": float(fit.slope), "low": float(fit.slope - half), "high": float(fit.slope + half),
            "n": len(depths)}


def fit_rms(depths, chains, law: str) -> float:
    """RMS residual, in steps of k*, of k* = a (flat), k* = a + b·depth (linear: depth ∝ k) or
    log2 k* = a + b·depth (log: depth ∝ log k)."""
    depths, chains = np.asarray(depths, dtype=float), np.asarray(chains, dtype=float)
    if law == "flat":
        return float(np.sqrt(np.mean((chains - chains.mean()) ** 2)))
    b, a = np.polyfit(depths, np.log2(np.maximum(chains, 1)) if law == "log" else chains, 1)
    fitted = a + b * depths
    return float(np.sqrt(np.mean(((2 ** fitted if law == "log" else fitted) - chains) ** 2)))


def which_law(points: list[tuple[int, int]], length: int, margin: float = FIT_MARGIN) -> str:
    """'flat' when the slope's interval reaches zero, else 'linear' or 'log' when one fit's RMS is ``margin``
    times lower than the other's, else 'indistinguishable'. Censored points (k* = length) are left out."""
    kept = [(d, k) for d, k in points if k < length]
    growth = fit_slope(kept)
    if np.isnan(growth["mean"]):
        return "indistinguishable"
    if growth["low"] <= 0:
        return "flat"
    d, k = zip(*kept)
    lin, log = fit_rms(d, k, "linear"), fit_rms(d, k, "log")
    if lin >= margin * log:
        return "log"
    if log >= margin * lin:
        return "linear"
    return "indistinguishable"


# --- the smallest depth that learns, against the training length (Merrill et al.'s design) ---------------

def length_budget(steps: int, lr: float, length: int, full_length: int) -> dict:
    """The plain transformers' budget at a shorter training ``length``: steps in proportion to the length,
    the same learning rate."""
    return dict(steps=round(steps * length / full_length), lr=lr, length=length)


def shallowest_first(routes: list[ladder.Route], group: str, length: int, steps: int, seed: int,
                     lr: float) -> list[dict]:
    """Train ``routes`` at ``length`` from the shallowest up and stop at the first that learns: a deeper one
    could not make the smallest learned depth smaller. The runs tried, in order."""
    tried = []
    for route in sorted(routes, key=lambda r: r.depth):
        tried.append(train_route(route, group, length, steps, seed, lr))
        if tried[-1]["learned"]:
            break
    return tried


def searched_lengths(routes: list[ladder.Route], group: str, seeds: list[int], lengths: list[int], steps: int,
                     lr: float) -> dict[int, list[dict]]:
    """Per training length, the runs ``shallowest_first`` tried at every seed (``steps`` at the longest length,
    fewer in proportion below it), as many searches at a time as the kernel has threads."""
    jobs = [dict(routes=routes, group=group, seed=s, **length_budget(steps, lr, n, max(lengths)))
            for n in lengths for s in seeds]
    done = parallel.run_all(shallowest_first, jobs, cost=lambda job: job["steps"] * job["length"])
    return {n: [r for job, tried in zip(jobs, done) if job["length"] == n for r in tried] for n in lengths}


def by_route_and_length(by_length: dict[int, list[dict]]) -> dict[str, list[dict]]:
    """The runs of each route at each training length, named 'transformer 2x64 at n = 3', in the order tried."""
    named: dict[str, list[dict]] = {}
    for n, runs in by_length.items():
        for r in sorted(runs, key=lambda r: r["route"].depth):
            named.setdefault(f"{r['route'].label} at n = {n}", []).append(r)
    return named


def smallest_learned_depth(runs: list[dict], seed: int) -> int | None:
    """The smallest depth among ``runs`` (plain transformers at one training length) whose run at ``seed`` learned
    the task (None: no depth tried did)."""
    return min((r["route"].depth for r in runs if r["seed"] == seed and r["learned"]), default=None)


def depth_against_length(by_length: dict[int, list[dict]], seeds: list[int]) -> dict[int, list[int | None]]:
    """Per training length, per seed, the smallest depth that learned the task at that length."""
    return {n: [smallest_learned_depth(runs, s) for s in seeds] for n, runs in sorted(by_length.items())}


def depth_growth(needed: dict[int, list[int | None]]) -> dict:
    """How the smallest learned depth grows with the training length n: the slope on n (layers per step of
    chain, the author's one layer per token predicts 1) and on log2 n (layers per doubling, the shortcut theory's
    growth), each over (n, depth) points, one per seed that learned at some depth, with a 95% t interval and
    the RMS residual of its straight-line fit; ``censored``: seeds where no depth tried learned; ``lengths``: the
    lengths with a point (at two, both lines pass through the two lengths' means, so neither law fits better)."""
    points = [(n, d) for n, depths in needed.items() for d in depths if d is not None]
    out = {"censored": sum(d is None for depths in needed.values() for d in depths), "points": len(points),
           "lengths": len({n for n, _ in points})}
    for name, x in (("length", float), ("log_length", math.log2)):
        xy = [(x(n), d) for n, d in points]
        out[name] = fit_slope(xy)
        out[f"rms_{name}"] = fit_residual(xy)
    return out


def fit_residual(points: list[tuple[float, float]]) -> float:
    """RMS residual of the least-squares line through ``points`` (nan with under two distinct x)."""
    if len({x for x, _ in points}) < 2:
        return float("nan")
    x, y = (np.array(v, dtype=float) for v in zip(*points))
    b, a = np.polyfit(x, y, 1)
    return float(np.sqrt(np.mean((a + b * x - y) ** 2)))


def minimal_depth(k_by_depth: dict[int, list[int]], k: int) -> int | None:
    """The smallest depth tried whose k* reaches ``k`` in every seed (None if no depth does)."""
    return next((d for d in sorted(k_by_depth) if min(k_by_depth[d]) >= k), None)


# --- SmolLM2: variable binding over hops -----------------------------------------------------------
# The prompt format. Every variable is written with a space before it, so its name is the same token
# where it is defined and where it is used (``b=a`` without spaces makes the ``a`` of a use a different
# token from the `` a`` of its definition); the question ends with ``Then c = `` so that the answer digit
# is the next token, as after every worked example. An earlier format (no spaces, question ``c?``) put
# SmolLM2 at chance even with no hop at all.

def hop_prompt(hops: int, rng: random.Random, chains: int = HOP_CHAINS) -> tuple[str, int, list[int]]:
    """One item: ``chains`` root digits, each passed along ``hops`` variables (``b = a``), the statements of
    each level shuffled across chains; the question asks the last variable of one chain. Returns the text
    (ending before the answer digit), the answer digit and the candidate digits (every chain's root)."""
    roots = rng.sample(range(10), chains)
    names = rng.sample(LETTERS, chains * (hops + 1))
    chain = [names[i * (hops + 1):(i + 1) * (hops + 1)] for i in range(chains)]
    order, statements = list(range(chains)), []
    rng.shuffle(order)
    statements += [f"{chain[c][0]} = {roots[c]}" for c in order]
    for level in range(1, hops + 1):
        rng.shuffle(order)
        statements += [f"{chain[c][level]} = {chain[c][level - 1]}" for c in order]
    asked = rng.randrange(chains)
    return "Let " + ", ".join(statements) + f". Then {chain[asked][hops]} = ", roots[asked], roots


def hop_shots(hops: int, rng: random.Random, shots: int = HOP_SHOTS) -> str:
    """The worked examples of one hop count, one per line, each followed by its answer."""
    return "".join(f"{q}{a}\n" for q, a, _ in (hop_prompt(hops, rng) for _ in range(shots)))


def hop_text(hops: int, rng: random.Random) -> tuple[str, int, list[int]]:
    """HOP_SHOTS worked examples of the same hop count, one per line, then the question."""
    shots = hop_shots(hops, rng)
    question, answer, candidates = hop_prompt(hops, rng)
    return shots + question, answer, candidates


def settle_layer(candidate_logits: torch.Tensor, target: int) -> int | None:
    """First layer from which ``target`` stays the top candidate through the last layer (None if it is not
    top at the last layer). ``candidate_logits``: (layers + 1, candidates), row 0 the embeddings."""
    top = candidate_logits.argmax(1) == target
    if not top[-1]:
        return None
    below = torch.nonzero(~top).flatten()
    return int(below[-1]) + 1 if below.numel() else 0


@torch.no_grad()
def hop_items(model, tokenizer, hops: int, n: int, seed: int) -> list[dict]:
    """``n`` items at ``hops`` hops, after one set of worked examples shared by the ``n`` questions (computed
    once and kept in the key-value cache, cut back to them after each question): whether the last
    position's logits rank the answer first among the candidate digits, and the logit-lens settle layer of
    the answer and of a control label (a wrong candidate drawn at random: where the lens would put a label
    the model has no reason to settle on)."""
    rng = random.Random(seed * 1000 + hops)
    digits = [tokenizer.encode(str(d))[-1] for d in range(10)]
    norm, head = model.model.norm, model.lm_head
    prefix = tokenizer(hop_shots(hops, rng), return_tensors="pt").input_ids
    shared = model(prefix, use_cache=True).past_key_values
    out = []
    for _ in range(n):
        question, answer, candidates = hop_prompt(hops, rng)
        ids = tokenizer(question, return_tensors="pt").input_ids
        result = model(ids, past_key_values=shared, output_hidden_states=True)
        shared.crop(-ids.shape[1])            # back to the worked examples alone for the next question
        token_ids = [digits[c] for c in candidates]
        # every hidden state but the last goes through the final norm and the head (the logit lens); the
        # last one already has the norm applied, and its logits are the model's own
        lens = [head(norm(h[0, -1]))[token_ids] for h in result.hidden_states[:-1]]
        lens.append(result.logits[0, -1, token_ids])
        lens = torch.stack(lens)
        target = candidates.index(answer)
        control = rng.choice([i for i in range(len(candidates)) if i != target])
        out.append({"hops": hops, "correct": bool(lens[-1].argmax() == target),
                    "greedy": bool(result.logits[0, -1].argmax() == digits[answer]),
                    "settle": settle_layer(lens, target), "control_settle": settle_layer(lens, control),
                    "lens_top": (lens.argmax(1) == target).float().numpy()})
    return out


def hop_summary(items: list[dict], chance: float) -> dict:
    """Accuracy per hop count (Wilson), the hop counts 0, 1, ... answered above chance up to the first that is
    not, and the settle-layer slope over the items answered correctly at those hop counts (least squares,
    95% t interval over items)."""
    hops = sorted({i["hops"] for i in items})
    accuracy = {h: proportion_ci(sum(i["correct"] for i in items if i["hops"] == h),
                                 sum(1 for i in items if i["hops"] == h)) for h in hops}
    # like k*, the hop counts from 0 up to the first one not answered above chance: a pass after a failure
    # is noise around chance, not a model that can follow two hops but not one
    above = []
    for h in hops:
        if accuracy[h]["low"] <= chance:
            break
        above.append(h)
    points = [(i["hops"], i["settle"]) for i in items if i["hops"] in above and i["settle"] is not None]
    slope = fit_slope(points) if len({p[0] for p in points}) >= 2 else \
        {"mean": float("nan"), "low": float("nan"), "high": float("nan"), "n": len(points)}
    return {"accuracy": accuracy, "above": above, "slope": slope, "points": points}


HOP_RULES = (
    Rule("not testable here", "SmolLM2 answers fewer than two hop counts (from zero hops up) above chance, so no "
         "layer-per-hop slope "
         "can be measured: where it fails, it fails at binding itself, long before it could run out of layers",
         lambda v: v["above"] < 2),
    Rule("supported", "the 95% interval of the settle-layer slope lies above zero: the answer becomes readable "
         "at a later layer for every added hop, as the author's picture says",
         lambda v: v["low"] > 0),
    Rule("refuted", f"the 95% interval of the settle-layer slope lies below {HOP_GROWTH_MIN} layers per hop: the "
         "answer does not become readable later with each hop, against one layer per hop",
         lambda v: v["high"] < HOP_GROWTH_MIN),
    Rule("inconclusive", f"the 95% interval of the settle-layer slope holds both zero and {HOP_GROWTH_MIN} layers "
         "per hop (or too few items were answered to compute it); about four times the items per hop count "
         "(an interval half as wide) would decide", always),
)



def summarise_hop(items: list[dict], design: dict) -> dict:
    """What the hop rules read: the hop counts SmolLM2 answers above chance (from zero up) and the interval of
    the settle-layer slope over the items it answered correctly at those counts."""
    hop = hop_summary(items, 1 / HOP_CHAINS)
    return dict(above=len(hop["above"]), low=hop["slope"]["low"], high=hop["slope"]["high"])


HOP_LAYERS = 30        # SmolLM2-135M's layers: where a simulated settle layer must lie


def hop_world(correct, settle_at, spread):
    """A world for the hop table: ``correct(h)`` the chance an item at h hops is answered, the answer settling
    at layer ``settle_at(h)`` give or take ``spread`` layers (normal, rounded, within the model's layers)."""
    def draw(rng, design):
        items = []
        for h in design["hops"]:
            for _ in range(design["hop_items"]):
                ok = bool(rng.random() < correct(h))
                layer = int(np.clip(np.rint(rng.normal(settle_at(h), spread)), 0, HOP_LAYERS)) if ok else None
                items.append({"hops": h, "correct": ok, "settle": layer})
        return items
    return draw


HOP_WORLDS = (
    World("not testable here", "as in every run so far: the zero-hop lookup at 65%, every hop at chance",
          hop_world(lambda h: 0.65 if h == 0 else 0.5, lambda h: 20, 3)),
    World("supported", "every hop count answered at 95%, the answer settling one layer later per hop (spread 3 "
          "layers)", hop_world(lambda h: 0.95, lambda h: 15 + h, 3)),
    World("refuted", "every hop count answered at 95%, the answer settling at the same layer whatever the hops "
          "(spread 2 layers)", hop_world(lambda h: 0.95, lambda h: 20, 2)),
    World("inconclusive", "zero and one hop answered at 90%, more at chance, the answer settling a quarter "
          "layer later per hop with a spread of 4 layers", hop_world(lambda h: 0.9 if h <= 1 else 0.5,
                                                                      lambda h: 20 + h / 4, 4)),
)

HOP_TABLE = Table("C5", HOP_RULES, summarise_hop, HOP_WORLDS, DESIGNS)


# --- C5: does a chain of L steps need L layers? ----------------------------------------------------
# The raw measurements, per seed and route: accuracy at every chain length to twice the training length,
# and the positive control's learned flag. A failure to learn is never evidence: a transformer that did
# not learn the training length may lack depth or may lack training, and S3 has a constant-depth shortcut
# that training can find (Liu et al.), so no row reads an unlearned model. That is also why the table has
# no `supported` row: the claim predicts that shallow transformers fail, and a failure is the one thing a
# rule may not read; what the experiment can do is refute it (a shallow depth learns the chain) or say it
# cannot decide. The claim is about the depth a chain needs, so one model of a depth that learned the chain
# (held-out accuracy at the training length at least LEARNED, on fresh sequences, where chance is 1/6) shows
# that depth suffices, whatever its other seeds did: they say how often training finds the shortcut, and the
# page reports that count beside the verdict. (An earlier version asked for every seed; in development runs
# of this version's full recipe, two of three 4x64 seeds learned.)

def c5_raw(runs: list[dict], depths: list[ladder.Route], gru: ladder.Route, cot: ladder.Route) -> dict:
    """The real runs in the shape the worlds draw: per route, one {accuracy, learned} per seed."""
    per_seed = lambda route: [{"accuracy": np.asarray(r["accuracy"]), "learned": r["learned"]}  # noqa: E731
                              for r in sorted(runs, key=lambda r: r["seed"]) if r["route"] == route]
    return {"gru": per_seed(gru), "cot": per_seed(cot), "depths": {r.depth: per_seed(r) for r in depths}}


def learned_in_every_seed(runs: list[dict]) -> bool:
    return bool(runs) and all(r["learned"] for r in runs)


def summarise_c5(raw: dict, design: dict) -> dict:
    """What the C5 rules read: whether the GRU control and chain of thought learned in every seed, the
    shallowest transformer depth with a seed that learned the training length (0: none did) and how many of
    that depth's seeds learned."""
    learned = {d: seeds_learned(runs) for d, runs in sorted(raw["depths"].items())}
    shallowest = next((d for d, n in learned.items() if n), 0)
    return dict(length=design["length"], gru_learned=learned_in_every_seed(raw["gru"]),
                cot_learned=learned_in_every_seed(raw["cot"]), shallowest_learned=shallowest,
                seeds_learned=learned.get(shallowest, 0))


C5_RULES = (
    Rule("inconclusive", f"the one-layer GRU, the check that the task can be learned in this budget, did not learn "
         f"it (held-out accuracy at the training length under {LEARNED:.0%}) in every seed; longer training, until "
         "it does, would decide",
         lambda v: not v["gru_learned"]),
    Rule("refuted", f"a transformer with fewer layers than the chain has steps learned the task at the training "
         f"length (held-out accuracy at least {LEARNED:.0%} on fresh sequences) in at least one seed: that depth "
         "suffices for the chain, so the chain did not need a layer per step; its seeds that did not learn say how "
         "often training finds the shortcut, not that the depth lacks it",
         lambda v: 0 < v["shallowest_learned"] < v["length"]),
    Rule("inconclusive", f"no transformer depth learned the task at the training length in any seed (held-out "
         f"accuracy under {LEARNED:.0%}), so every comparison of depths would read models that did not "
         "learn, and a failure to learn is not evidence of too little depth (S3 has a constant-depth shortcut that "
         "training can find); training until some depth learns would decide: a depth under the chain's length that "
         "learns it refutes a layer per step", always),
)


def simulated_route(rng: np.random.Generator, tracked, length: int, seeds: int) -> list[dict]:
    """``seeds`` simulated runs of one route; ``tracked(rng)`` draws the chain a seed's model tracks; the
    learned flag is the held-out accuracy at the training length (the curve's mean over 1..length)."""
    runs = []
    for _ in range(seeds):
        acc = ladder.simulated_accuracy(rng, tracked(rng), length, CHANCE)
        runs.append({"accuracy": acc, "learned": bool(acc[:length].mean() >= LEARNED)})
    return runs


def c5_world(depth_tracks, gru_tracks):
    """A world: ``depth_tracks(rng, depth, length)`` the chain a model of that depth tracks, ``gru_tracks`` the
    GRU's; chain of thought tracks everything, as in every run so far."""
    def draw(rng, design):
        length, seeds = design["length"], design["seeds"]
        route = lambda tracked: simulated_route(rng, tracked, length, seeds)  # noqa: E731
        return {"gru": route(lambda r: gru_tracks(r, length)), "cot": route(lambda r: 2 * length),
                "depths": {d: route(lambda r, d=d: depth_tracks(r, d, length)) for d in design["depths"]}}
    return draw


C5_WORLDS = (
    World("refuted", "a shortcut found: every transformer from two layers up tracks twice the training length, "
          "one layer about three steps; the GRU tracks everything",
          c5_world(lambda r, d, n: 2 * n if d >= 2 else int(r.integers(2, 5)), lambda r, n: 2 * n)),
    World("refuted", "as in development runs of the full recipe: four layers find the shortcut in two seeds of "
          "three (the others stall at two to four steps), fewer layers never; the GRU tracks everything",
          c5_world(lambda r, d, n: 2 * n if d >= 4 and r.random() < 2 / 3 else int(r.integers(2, 5)),
                   lambda r, n: 2 * n)),
    World("inconclusive", "as in the records before curricula: every depth tracks two to four steps, the GRU "
          "everything", c5_world(lambda r, d, n: int(r.integers(2, 5)), lambda r, n: 2 * n)),
)

C5_TABLE = Table("C5", C5_RULES, summarise_c5, C5_WORLDS, DESIGNS)
TABLES = {"C5": C5_TABLE, "C5-hop": HOP_TABLE}


# --- the sentences the page prints -----------------------------------------------------------------

LAW_WORDS = {
    "flat": "its interval reaches zero, so no growth with depth is detected and the fit reads flat",
    "linear": "the linear law fits best: minimal depth grows in proportion to k",
    "log": "the logarithmic law fits best: minimal depth grows like log k",
    "indistinguishable": f"neither growth law fits {numbers.value(FIT_MARGIN)} times better than the other",
}


def is_measured(stat: dict) -> bool:
    """Whether a fitted slope came out a number (not nan: too few points or a single x)."""
    return bool(np.isfinite(stat["mean"]))


def steps(ci: dict) -> str:
    """k* over seeds: '12 steps in every seed' when the seeds agree, else the mean with its interval."""
    if ci["low"] == ci["high"]:
        return f"{numbers.plural(round(ci['mean']), 'step')} in every seed"
    return numbers.interval(ci, "steps", over="seeds")


def tenths(x: float) -> str:
    """A number of steps to one decimal, whole numbers as they are: '2.3', '12', '0'."""
    return numbers.value(x) if float(x).is_integer() else numbers.value(x, 1)


def mean_of(ci: dict) -> str:
    """A mean k* to one decimal, as the heatmap's cells give it."""
    return tenths(ci["mean"])


def share(ci: dict) -> str:
    """A mean accuracy as a percentage, to the precision its interval supports (as ``percent_interval``)."""
    if ci["low"] == ci["high"]:
        return numbers.percent(ci["mean"])
    return numbers.percent(ci["mean"], max(0, numbers.decimals_for(100 * (ci["high"] - ci["low"]))))


def heat_label(ci: dict) -> str:
    """A heatmap cell: the mean over seeds and its interval beneath, or the mean alone when the seeds agree."""
    if ci["low"] == ci["high"]:
        return mean_of(ci)
    return f"{mean_of(ci)}\n[{tenths(ci['low'])}, {tenths(ci['high'])}]"


def slope_text(stat: dict, unit: str, over: str) -> str:
    """A fitted slope with its interval, or 'not measurable'; a slope printed as 1 takes the singular."""
    if not is_measured(stat):
        return "not measurable"
    text = numbers.interval(stat, unit, over=over)
    return "1 layer " + text.removeprefix("1 layers ") if text.startswith("1 layers ") else text


def heat_sentence(group: str, length: int, gru: dict, cot: dict, best_depth: int, best: dict) -> str:
    """The heatmap's finding: the GRU, one layer writing its state, and the best plain transformer against the
    GRU (short of it or beyond it when the intervals over seeds are apart, else level)."""
    if best["high"] < gru["low"]:
        against = "short of the GRU"
    elif best["low"] > gru["high"]:
        against = "beyond the GRU"
    else:
        against = "level with the GRU within the intervals over seeds"
    return (f"On {group} the one-layer GRU tracks {mean_of(gru)} of {length} steps and one layer writing its state "
            f"{mean_of(cot)}; the best plain transformer (depth {best_depth}) tracks {mean_of(best)}, {against}.")


def length_sentence(gru: dict, cot: dict, deep: dict, depth: int) -> str:
    """Mean accuracy beyond the training length of the GRU, chain of thought and the deepest transformer."""
    return (f"Beyond the training length the GRU keeps {share(gru)} mean accuracy, chain of thought {share(cot)} and "
            f"the {depth}-layer transformer {share(deep)}.")


def fit_sentence(growth: dict, law: str) -> str:
    """The slope of k* over depth and the law it picks."""
    if not is_measured(growth):
        return "The slope of k* over depth cannot be measured here (fewer than three points or a single depth)."
    return (f"Each added layer changes k* by {slope_text(growth, 'steps', 'seed-by-depth points')}; "
            f"{LAW_WORDS[law]}.")


def depth_needed(runs: list[dict], depths: list[int], length: int) -> list[int | None]:
    """For k = 1 .. ``length``, the smallest plain transformer depth (no filler, no chain of thought) whose k*
    reaches k in every seed (None if none)."""
    plain = [r for r in runs if r["route"].kind == "transformer" and r["route"].mode == "none"]
    k_by_depth = {d: [r["k_star"] for r in plain if r["route"].depth == d] for d in depths}
    return [minimal_depth(k_by_depth, k) for k in range(1, length + 1)]


def depth_length_sentence(needed: dict[int, list[int | None]], growth: dict, group: str = "") -> str:
    """The smallest learned depth at each training length, per seed, and its growth on n and on log2 n."""
    said = lambda d: "none" if d is None else str(d)  # noqa: E731
    per_length = "; ".join(f"at n = {n}, {', '.join(said(d) for d in depths)}" for n, depths in needed.items())
    on = f" on {group}" if group else ""
    first = f"Trained{on} at each length n, the smallest depth that learned the task was, seed by seed, {per_length}."
    left_out = (f", leaving out {numbers.plural(growth['censored'], 'seed-by-length case')} where no depth tried "
                "learned" if growth["censored"] else "")
    points = numbers.plural(growth["points"], "seed-by-length point")
    if not is_measured(growth["length"]):
        return f"{first} With {points}{left_out}, no growth can be fitted."
    slopes = (f"{first} Over {points}{left_out}, that depth grows by "
              f"{slope_text(growth['length'], 'layers per step of chain', 'points')} and by "
              f"{slope_text(growth['log_length'], 'layers per doubling of the length', 'points')}")
    if growth["lengths"] < 3:
        return (f"{slopes}. Both lines pass through the mean depth at each of the two lengths (RMS residual "
                f"{numbers.value(growth['rms_length'], 2)} layers each), so two lengths cannot tell one layer per "
                "step of chain from one per doubling: that takes a third length.")
    return (f"{slopes}; the straight line on n leaves an RMS residual of {numbers.value(growth['rms_length'], 2)} "
            f"layers, the one on log2 n {numbers.value(growth['rms_log_length'], 2)}.")


def minimal_depths(minimal: dict[int, int | None]) -> str:
    """Minimal depth against chain length, runs of k with the same depth together: 'depth 1 for k = 1 to 3 and
    depth 2 for k = 4'; 'none' when no depth reaches even k = 1."""
    runs: list[list] = []
    for k, depth in sorted(minimal.items()):
        if depth is None:
            continue
        if runs and runs[-1][0] == depth and runs[-1][2] == k - 1:
            runs[-1][2] = k
        else:
            runs.append([depth, k, k])
    spans = [f"depth {d} for k = {a}" + (f" to {b}" if b > a else "") for d, a, b in runs]
    return numbers.listing(spans) if spans else "none"


def hop_counts(above: list[int]) -> str:
    """'0, 1 and 2', or 'none'."""
    return numbers.listing(above) if above else "none"


def at_hops(above: list[int]) -> str:
    """'at h = 0 and 1', or 'at no hop count'."""
    return f"at h = {hop_counts(above)}" if above else "at no hop count"


def hop_accuracies(accuracy: dict[int, dict]) -> str:
    """Accuracy per hop count with its Wilson interval."""
    return numbers.listing(f"h = {h}: {numbers.percent_interval(ci)}" for h, ci in sorted(accuracy.items()))


def settle_means(settle: dict[int, list[int]]) -> str:
    """Mean settle layer per hop count, over the items answered correctly ('none' when none were)."""
    means = [f"h = {h}: layer {numbers.value(float(np.mean(layers)), 1)}" for h, layers in sorted(settle.items())
             if layers]
    return numbers.listing(means) if means else "none"


def greedy_sentence(greedy: dict) -> str:
    """How often the greedy next token, over the whole vocabulary, is the answer digit."""
    return ("Over the whole vocabulary, the greedy next token is the answer digit in "
            f"{numbers.percent_interval(greedy, over='items, all hop counts together')}.")


def hop_sentence(above: list[int], slope: dict) -> str:
    """The hop figure's finding: the hop counts answered above chance and the settle-layer slope over them."""
    where = at_hops(above)
    if len(above) < 2:
        return (f"SmolLM2 ranks the answer first above chance {where}: fewer than two hop counts, so no "
                "layer-per-hop slope can be measured.")
    if not is_measured(slope):
        return (f"SmolLM2 ranks the answer first above chance {where}, but too few of those items settle to measure "
                "a layer-per-hop slope.")
    return (f"SmolLM2 ranks the answer first above chance {where}; over those items the settle layer moves "
            f"{slope_text(slope, 'layers per hop', 'items')}.")


def hop_evidence(accuracy: dict[int, dict], above: list[int], slope: dict, items: int) -> str:
    """The hop-depth verdict's evidence: accuracy per hop count, the counts above chance, the slope."""
    shares = numbers.listing(f"h = {h}: {numbers.percent(ci['mean'])}" for h, ci in sorted(accuracy.items()))
    text = (f"SmolLM2 ranked the answer first among {HOP_CHAINS} candidates at {shares} "
            f"({items} questions each); above chance {at_hops(above)}")
    if is_measured(slope):
        text += f"; settle-layer slope {slope_text(slope, 'layers per hop', 'items')}"
    return text


def seeds_learned(runs: list[dict]) -> int:
    return sum(r["learned"] for r in runs)


def learned_groups(routes: dict[str, list[dict]]) -> dict[str, list[str]]:
    """The routes (by name) that learned the training length in every seed, in some seeds, and in none."""
    groups = {"every": [], "some": [], "none": []}
    for name, runs in routes.items():
        n = seeds_learned(runs)
        groups["every" if n == len(runs) else "some" if n else "none"].append(name)
    return groups


def control_range(runs: list[dict]) -> str:
    """Held-out accuracy at the training length over seeds: '64%' or '58% to 72%'."""
    scores = [r["control"]["accuracy"] for r in runs]
    low, high = numbers.percent(min(scores)), numbers.percent(max(scores))
    return low if low == high else f"{low} to {high}"


def c5_evidence(length: int, controls: dict[str, list[dict]], hop_part: str) -> str:
    """C5's evidence: held-out accuracy at the training length of each route, which learned, and the verdict of
    the hop-depth part (its own table)."""
    seeds = len(next(iter(controls.values())))
    scores = numbers.listing(f"{name} {control_range(runs)} (learned in {seeds_learned(runs)} of {len(runs)})"
                             for name, runs in controls.items())
    return (f"on {GROUP.upper()} chains of {length} over {numbers.plural(seeds, 'seed')}, held-out accuracy at the "
            f"training length was {scores} (a model learned when it scored at least {numbers.percent(LEARNED)}); "
            f"the hop-depth part on SmolLM2, decided by its own table, is {hop_part}")


def learned_table(routes: dict[str, list[dict]]) -> str:
    """A Markdown table: each route's held-out accuracy at the training length per seed, and whether it learned."""
    lines = ["| route | held-out accuracy at the training length, per seed | chance | seeds that learned |",
             "|---|---|---|---|"]
    for name, runs in routes.items():
        scores = ", ".join(numbers.percent(r["control"]["accuracy"], 1) for r in runs)
        chance = numbers.percent(runs[0]["control"]["chance"])
        count = f"{seeds_learned(runs)} of {len(runs)}"
        shown = count if seeds_learned(runs) == len(runs) else f"**{count}**"
        lines.append(f"| {name} | {scores} | {chance} | {shown} |")
    return "\n".join(lines)


def learned_sentence(groups: dict[str, list[str]]) -> str:
    """Which routes learned the training length in every seed, in some, and in none (read by no rule)."""
    listed = lambda names: numbers.listing(names) if names else "none"  # noqa: E731
    said = f"Learned in every seed: {listed(groups['every'])}."
    if groups["some"]:
        said += f" In some seeds, not all: {listed(groups['some'])}."
    if groups["none"]:
        said += (f" In no seed (held-out accuracy under {numbers.percent(LEARNED)}), so no rule reads them: "
                 f"{listed(groups['none'])}.")
    return said
