"""Page ``book/CHAPTER_NAME.md``, claim CLAIM_ID: CHAPTER TITLE

TODO: what the chapter measures and how, in two or three sentences. The page keeps the argument and the
figures; the code it calls lives here, each function with a unit test in tests/chapters/test_CHAPTER_NAME.py.
"""
from __future__ import annotations

from ..machinery.results import Ruling

# Every threshold the verdict uses is a named constant, with why this value; the page defends it in its text.
THRESHOLD = 0.5  # TODO: name it for what it means, and say why this value (a paper, chance level, a noise floor)


def VERDICT_FUNCTION(effect: dict) -> Ruling:
    """CLAIM_ID from the measured effect: an interval over seeds (a ``stats`` dict with mean, low and high).

    TODO: the rule in words, as the page's verdict section states it.
    """
    span = f"[{effect['low']:.3g}, {effect['high']:.3g}]"
    if effect["low"] > THRESHOLD:
        return Ruling("supported", f"the whole interval {span} lies above {THRESHOLD:g}")
    if effect["high"] < THRESHOLD:
        return Ruling("refuted", f"the whole interval {span} lies below {THRESHOLD:g}")
    return Ruling("inconclusive", f"the interval {span} contains {THRESHOLD:g}: these seeds cannot tell")
