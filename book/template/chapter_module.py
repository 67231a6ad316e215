"""Page ``book/CHAPTER_NAME.md``, claim CLAIM_ID: CHAPTER TITLE

TODO: what the chapter measures and how, in two or three sentences. The page keeps the argument and the
figures; the code it calls lives here, each function with a unit test in tests/chapters/test_CHAPTER_NAME.py.
"""
from __future__ import annotations

from ..machinery.rules import Rule, Ruling, always, decide

# Every threshold the verdict uses is a named constant, with why this value; the page defends it in its text.
THRESHOLD = 0.5  # TODO: name it for what it means, and say why this value (a paper, chance level, a noise floor)

# The decision table: tried top to bottom, the first rule that holds decides; the page renders it beside the verdict.
CLAIM_ID_RULES = (
    Rule("supported", f"the whole interval lies above {THRESHOLD:g}", lambda v: v["effect"]["low"] > THRESHOLD),
    Rule("refuted", f"the whole interval lies below {THRESHOLD:g}", lambda v: v["effect"]["high"] < THRESHOLD),
    Rule("inconclusive", f"the interval contains {THRESHOLD:g}: more seeds would narrow it", always),
)


def VERDICT_FUNCTION(effect: dict) -> Ruling:
    """CLAIM_ID from the measured effect: an interval over seeds (a ``stats`` dict with mean, low and high).

    TODO: say in a sentence what the rule compares, and why that comparison decides the claim.
    """
    evidence = f"the effect is {effect['mean']:.3g} (95% CI {effect['low']:.3g} to {effect['high']:.3g} over seeds)"
    return decide(CLAIM_ID_RULES, {"effect": effect}, evidence)
