"""The verdict at a glance: the badge for each verdict and the box under every chapter's title.

Kept apart from the ledger because a chapter renders its own box while it runs: what a chapter's execution
imports is part of its cache key, and this module needs nothing but the claims registry.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from ..lab import numbers
from . import paths

NOT_YET = "not yet tested"


def hardware(env: dict) -> str:
    """'one NVIDIA H100 GPU' or 'a CPU with 2 cores (1 torch thread)', from a results file's environment."""
    if env.get("gpu"):
        return f"one {env['gpu']} GPU"
    threads = env.get("torch_threads")
    return (f"a CPU with {numbers.plural(env.get('cpu_count') or 1, 'core')}"
            + (f" ({numbers.plural(threads, 'torch thread')})" if threads else ""))


def claims(path: Path = paths.CLAIMS) -> dict[str, dict]:
    """The claims registry, in id order (C1, C2, …, C10)."""
    registry = yaml.safe_load(path.read_text())
    return dict(sorted(registry.items(), key=lambda item: int(item[0][1:])))


BADGE = {"supported": "success", "refuted": "danger", "nuanced": "warning", "inconclusive": "dark",
         "not testable here": "info", NOT_YET: "light"}


def badge(verdict: str) -> str:
    """A verdict as a coloured badge (sphinx-design)."""
    return f"{{bdg-{BADGE[verdict]}}}`{verdict}`"


def glance_markdown(results: dict, registry: dict[str, dict] | None = None) -> str:
    """The verdict box under a chapter's title: each claim in a line, its badge, why, and what produced it."""
    registry = registry or claims()
    env = results["environment"]
    lines = ["```{admonition} The verdict at a glance", ":class: tip"]
    for v in results["verdicts"]:
        claim = registry.get(v["claim"], {}).get("claim", "")
        lines += [f"**{v['claim']}** {badge(v['verdict'])} {claim}", "",
                  f"{v.get('why') or v['reason']} ({{ref}}`the rule <{results['chapter']}-rule>`)"
                  f"{confirmation_note(v)}", ""]
    seeds = ", ".join(map(str, results["seeds"]))
    lines += [f"*{results['profile'].capitalize()} profile, seeds {seeds}, {hardware(env)}, "
              f"{results['finished'][:10]}.*", "```"]
    return "\n".join(lines)


def confirmation_note(v: dict) -> str:
    """' Confirmed at fresh seeds.' or ' Not confirmed at fresh seeds: …' for a record's verdict; '' otherwise."""
    state = (v.get("confirmation") or {}).get("state")
    if state == "confirmed":
        return f" *Confirmed at fresh seeds* (development read {v['confirmation']['development']} too)."
    if state == "not confirmed":
        return (f" *Not confirmed at fresh seeds*: development read {v['confirmation']['development']}, "
                f"this run {v['decided']}.")
    return ""
