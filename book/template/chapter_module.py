"""Page ``book/CHAPTER_NAME.md``, claim CLAIM_ID: CHAPTER TITLE

TODO: what the chapter measures and how, in two or three sentences. The page keeps the argument and the
figures; the code it calls lives here, each function with a unit test in tests/chapters/test_CHAPTER_NAME.py.
"""
from __future__ import annotations

from ..lab import stats
from ..machinery.power import Table, World
from ..machinery.rules import Rule, Ruling, always

# Every setting that differs between the profiles, in one place; the page reads SETTINGS[profile].
SETTINGS = {"quick": {"seeds": 3}, "full": {"seeds": 10}}
# Every threshold the verdict uses is a named constant, with why this value; the page defends it in its text.
THRESHOLD = 0.5  # TODO: name it for what it means, and say why this value (a paper, chance level, a noise floor)
# How much one seed's measurement varies around its mean: the worlds below draw seeds with this spread.
SEED_SPREAD = 0.1  # TODO: the spread across seeds a pilot run measured (say which run)


def summarise(per_seed, design) -> dict:
    """The values the rules read, from the raw measurements (one value per seed). The page calls this on
    the real measurements and the power check on simulated ones, so both are summarised the same way."""
    return {"effect": stats.mean_ci(per_seed)}


# The decision table: tried top to bottom, the first rule that holds decides; the page renders it beside the verdict.
CLAIM_ID_RULES = (
    Rule("supported", f"the whole interval lies above {THRESHOLD:g}", lambda v: v["effect"]["low"] > THRESHOLD),
    Rule("refuted", f"the whole interval lies below {THRESHOLD:g}", lambda v: v["effect"]["high"] < THRESHOLD),
    Rule("inconclusive", f"the interval contains {THRESHOLD:g}: more seeds would narrow it", always),
)


def seeds_around(effect: float):
    """A world whose seeds measure ``effect`` on average, each with the spread SEED_SPREAD."""
    return lambda rng, design: rng.normal(effect, SEED_SPREAD, design["seeds"])


# For each outcome, a world in which it is the truth; the power column says how often the run reaches it there.
TABLES = {"CLAIM_ID": Table(
    "CLAIM_ID", CLAIM_ID_RULES, summarise,
    (World("supported", "the effect lies well above the threshold", seeds_around(THRESHOLD + 3 * SEED_SPREAD)),
     World("refuted", "the effect lies well below the threshold", seeds_around(THRESHOLD - 3 * SEED_SPREAD)),
     World("inconclusive", "the effect sits on the threshold", seeds_around(THRESHOLD))),
    designs={profile: {"seeds": s["seeds"]} for profile, s in SETTINGS.items()})}


def VERDICT_FUNCTION(per_seed: list[float], profile: str) -> Ruling:
    """CLAIM_ID from the measured effect, one value per seed.

    TODO: say in a sentence what the rule compares, and why that comparison decides the claim.
    """
    effect = stats.mean_ci(per_seed)
    evidence = f"the effect is {effect['mean']:.3g} (95% CI {effect['low']:.3g} to {effect['high']:.3g} over seeds)"
    return TABLES["CLAIM_ID"].decide(per_seed, profile, evidence)
