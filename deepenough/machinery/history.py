"""Each claim's verdict history, read from the git history of the published records.

Every commit that changed a chapter's ``records/<chapter>/results.json`` is one entry for each of its
claims: the date, the commit, the verdict and the digest of the decision table that decided it, so a
reader can tell a verdict that moved with the data from one that moved with the rule. Consecutive
entries that agree on verdict and table are shown once (the first).
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from . import paths
from .glance import badge


def git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return out.stdout


def record_commits(root: Path = paths.ROOT) -> list[tuple[str, str, list[str]]]:
    """Oldest first: (commit, date, results files it changed) for every commit that touched a record's results."""
    text = git(root, "log", "--reverse", "--format=@%h %cs", "--name-only", "--", "records")
    commits = []
    for block in text.split("@")[1:]:
        head, *files = block.strip().splitlines()
        commit, date = head.split()
        changed = [f for f in files if f.startswith("records/") and f.endswith("/results.json")]
        if changed:
            commits.append((commit, date, changed))
    return commits


def verdict_history(root: Path = paths.ROOT) -> dict[str, list[dict]]:
    """For each claim, its published verdicts in order: date, commit, verdict, table digest."""
    history: dict[str, list[dict]] = {}
    for commit, date, files in record_commits(root):
        for path in files:
            try:
                data = json.loads(git(root, "show", f"{commit}:{path}"))
            except (RuntimeError, json.JSONDecodeError):
                continue  # deleted in this commit, or not a results file then
            for v in data.get("verdicts", []):
                entries = history.setdefault(v["claim"], [])
                entry = {"date": date, "commit": commit, "verdict": v["verdict"], "rule": v.get("rule", "")}
                if not entries or (entries[-1]["verdict"], entries[-1]["rule"]) != (entry["verdict"], entry["rule"]):
                    entries.append(entry)
    return dict(sorted(history.items(), key=lambda item: int(item[0][1:])))


def history_markdown(root: Path = paths.ROOT) -> str:
    """The history as a table, one row per change of verdict or decision table; a note where git has none."""
    try:
        history = verdict_history(root)
    except (RuntimeError, OSError):
        history = {}
    if not history:
        return ("*No verdict history here: it is read from the repository's git history, which this copy "
                "does not have (a shallow clone, or an export without git).*")
    lines = ["| claim | date | commit | verdict | decision table |", "|---|---|---|---|---|"]
    for claim, entries in history.items():
        for i, e in enumerate(entries):
            table = f"`{e['rule']}`" if e["rule"] else "none recorded"
            first = claim if i == 0 else ""
            lines.append(f"| {first} | {e['date']} | `{e['commit']}` | {badge(e['verdict'])} | {table} |")
    return "\n".join(lines)
