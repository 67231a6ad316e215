"""The claims ledger and the execution report, both made from the chapters' results files."""
from __future__ import annotations

from pathlib import Path

import yaml

from . import paths
NOT_YET = "not yet tested"


def claims(path: Path = paths.CLAIMS) -> dict[str, dict]:
    """The claims registry, in id order (C1, C2, …, C10)."""
    registry = yaml.safe_load(path.read_text())
    return dict(sorted(registry.items(), key=lambda item: int(item[0][1:])))


def format_number(m: dict) -> str:
    unit = f" {m['unit']}" if m["unit"] else ""
    if m["low"] == m["high"]:
        return f"{m['mean']:.3g}{unit}"
    return f"{m['mean']:.3g}{unit} [{m['low']:.3g}, {m['high']:.3g}]"


def ledger_rows(registry: dict[str, dict], results: dict[str, dict]) -> list[dict]:
    """One row per registered claim: its verdict and key number where a chapter tested it."""
    tested = {v["claim"]: (r, v) for r in results.values() for v in r["verdicts"]}
    rows = []
    for cid, claim in registry.items():
        row = {"id": cid, "claim": claim["claim"], "who": claim["who"], "verdict": NOT_YET,
               "reason": "", "key": "", "chapter": "", "profile": ""}
        if cid in tested:
            r, v = tested[cid]
            key = r["measurements"].get(v["key"]) if v["key"] else None
            row.update(verdict=v["verdict"], reason=v["reason"], chapter=r["chapter"], profile=r["profile"],
                       key=f"{key['what']}: {format_number(key)}" if key else "")
        rows.append(row)
    return rows


def ledger_markdown(rows: list[dict]) -> str:
    lines = ["| claim | who | verdict | key number | chapter (profile) |", "|---|---|---|---|---|"]
    for r in rows:
        chapter = f"{{doc}}`{r['chapter']}` ({r['profile']})" if r["chapter"] else "—"
        verdict = f"**{r['verdict']}**" + (f": {r['reason']}" if r["reason"] else "")
        lines.append(f"| **{r['id']}** {r['claim']} | {r['who']} | {verdict} | {r['key'] or '—'} | {chapter} |")
    return "\n".join(lines)


def report_markdown(results: dict[str, dict]) -> str:
    lines = ["| chapter | profile | seeds | wall time | commit | finished (UTC) | hardware | software |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        env = r["environment"]
        hardware = f"{env['cpu']}, {env['cpu_count']} cores, {env['torch_threads']} torch threads"
        hardware += f", GPU {env['gpu']}" if env["gpu"] else ", no GPU"
        software = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if k in ("torch", "transformers"))
        seeds = ", ".join(map(str, r["seeds"]))
        lines.append(f"| {{doc}}`{name}` | {r['profile']} | {seeds} | {r['wall_time_s']:.0f} s | `{r['commit']}` "
                     f"| {r['finished']} | {hardware} | Python {env['python']}, {software} |")
    return "\n".join(lines)


def book_results(results_dir) -> dict[str, dict]:
    """The results files of the chapters in the book now (a removed chapter's old file is ignored)."""
    from .results import read_all
    from .runner import notebooks

    chapters = notebooks()
    return {name: r for name, r in read_all(results_dir).items() if name in chapters}
