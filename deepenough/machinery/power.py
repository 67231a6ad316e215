"""Power at the run's own sample size: could the experiment, at the n it draws, have come out otherwise?

A decision table shows that its logic can reach each outcome; that says nothing about whether the
experiment can. So every table comes with a *world* for each of its outcomes: a small generative model
of the raw measurements (per step, per prompt, per seed; never of the summary numbers) in which that
outcome is the truth. ``power`` draws raw data from each world at a profile's design (the numbers of
independent units the run draws), summarises it with the chapter's own ``summarise`` (the function the
page runs on the real data), applies the rules, and reports the share of draws that reach the world's
outcome. An outcome with power under ``POWER_MIN`` in ``full`` is one the published run cannot reach:
the chapter raises its n or drops the row.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .rules import Rule, Ruling, decide, outcomes

POWER_MIN = 0.8          # the share of draws a run must reach its outcome in, in that outcome's world
SIMULATIONS = 200        # draws per world: a share of 0.8 is then known to about ±0.03


@dataclass(frozen=True)
class World:
    """A world in which ``outcome`` is the truth; ``draw(rng, design)`` returns raw measurements at ``design``."""
    outcome: str
    story: str                                          # what is true there, in words
    draw: Callable[[np.random.Generator, Mapping], Any]


@dataclass(frozen=True)
class Table:
    """One claim's decision table with what it reads: ``summarise(raw, design)`` turns raw measurements into
    the values the rules read (the page calls the same function on the real data), ``designs`` gives each
    profile's numbers of independent units, ``worlds`` one world per outcome of the rules."""
    claim: str
    rules: tuple[Rule, ...]
    summarise: Callable[[Any, Mapping], dict]
    worlds: tuple[World, ...]
    designs: Mapping[str, Mapping] = field(default_factory=dict)
    simulations: int = SIMULATIONS

    def decide(self, raw, profile: str, evidence: str = "") -> Ruling:
        """The verdict on the real raw measurements, through the same summary the worlds go through."""
        return decide(self.rules, self.summarise(raw, self.designs[profile]), evidence)

    def power(self, profile: str, seed: int = 0) -> dict[str, float]:
        return power(self, self.designs[profile], seed)

    def power_by_profile(self, seed: int = 0) -> dict[str, dict[str, float]]:
        return {profile: self.power(profile, seed) for profile in self.designs}


def power(table: Table, design: Mapping, seed: int = 0) -> dict[str, float]:
    """For each outcome of the table, the share of draws from its world that the rules decide as that outcome."""
    missing = set(outcomes(table.rules)) - {w.outcome for w in table.worlds}
    if missing:
        raise ValueError(f"{table.claim}: no world in which {', '.join(sorted(missing))} is the truth")
    found = {}
    for index, world in enumerate(table.worlds):
        rng = np.random.default_rng([seed, index])
        hits = sum(decide(table.rules, table.summarise(world.draw(rng, design), design)).verdict == world.outcome
                   for _ in range(table.simulations))
        found[world.outcome] = min(found.get(world.outcome, 1.0), hits / table.simulations)
    return {outcome: found[outcome] for outcome in outcomes(table.rules)}


def unreachable(shares: Mapping[str, float]) -> list[str]:
    """The outcomes a run at this design reaches less often than POWER_MIN in their own worlds."""
    return [outcome for outcome, share in shares.items() if share < POWER_MIN]


def reach_sentence(power_by_profile: Mapping[str, Mapping[str, float]]) -> str:
    """In words, for each profile, which outcomes it reaches less often than POWER_MIN in their own worlds."""
    said = []
    for profile, shares in power_by_profile.items():
        weak = unreachable(shares)
        if not weak:
            said.append(f"Under {profile}, every outcome is reached at least {POWER_MIN:.0%} of the time in its "
                        "own world.")
            continue
        one = len(weak) == 1
        said.append(f"Under {profile}, {' and '.join(weak)} {'is' if one else 'are'} reached less than "
                    f"{POWER_MIN:.0%} of the time even in {'its' if one else 'their'} own world (lowest "
                    f"{min(shares[w] for w in weak):.0%}), so such a run cannot be relied on to find "
                    f"{'it' if one else 'them'}.")
    return " ".join(said)
