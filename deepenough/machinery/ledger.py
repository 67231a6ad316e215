"""The claims ledger and the execution report, both made from the chapters' results files."""
from __future__ import annotations

from pathlib import Path

from ..lab import numbers
from .glance import BADGE, NOT_YET, badge, claims, glance_markdown  # noqa: F401 (the pages use them here)
from .results import hardware


def format_number(m: dict) -> str:
    """A measurement as the book prints it: its value, its interval and what the interval is over."""
    return numbers.interval(m, m.get("unit", ""), m.get("over", ""))


def scope(chapter_page: Path | None, claim: str) -> dict:
    """What a claim's verdict rests on and what it says about frontier models, from the chapter's front matter."""
    if chapter_page is None:
        return {}
    from .runner import meta

    return (meta(chapter_page) or {}).get("scope", {}).get(claim, {})


def ledger_rows(registry: dict[str, dict], results: dict[str, dict], records: dict[str, dict] | None = None,
                pages: dict[str, Path] | None = None) -> list[dict]:
    """One row per registered claim, from the run its chapter page shows: the full record where it is
    current, else the quick run (``results``); the other run's verdict beside it."""
    records, pages = records or {}, pages or {}
    shown = {name: records[name]["results"] if records.get(name, {}).get("state") == "current" else r
             for name, r in results.items()}
    shown |= {name: rec["results"] for name, rec in records.items() if rec["state"] == "current" and name not in shown}
    tested = {v["claim"]: (r, v) for r in shown.values() for v in r["verdicts"]}
    quick = {v["claim"]: v["verdict"] for r in results.values() for v in r["verdicts"]}
    recorded = {v["claim"]: (name, rec, v) for name, rec in records.items() for v in rec["results"]["verdicts"]}
    rows = []
    for cid, claim in registry.items():
        row = {"id": cid, "claim": claim["claim"], "who": claim["who"], "verdict": NOT_YET, "why": "", "reason": "",
               "key": "", "chapter": "", "profile": "", "seeds": [], "finished": "", "quick": quick.get(cid),
               "record": None, "record_state": "missing", "confirmation": "", "rests_on": "", "frontier": "",
               "shows_record": records.get(tested[cid][0]["chapter"], {}).get("state") == "current"
               if cid in tested else False}
        if cid in tested:
            r, v = tested[cid]
            key = r["measurements"].get(v["key"]) if v["key"] else None
            row.update(verdict=v["verdict"], why=v.get("why", v["reason"]), reason=v["reason"],
                       chapter=r["chapter"], profile=r["profile"], seeds=r["seeds"], finished=r["finished"][:10],
                       key=f"{key['what']}: {format_number(key)}" if key else "",
                       confirmation=(v.get("confirmation") or {}).get("state", ""),
                       **scope(pages.get(r["chapter"]), cid))
        if cid in recorded:
            name, rec, v = recorded[cid]
            row.update(record=v["verdict"], record_state=rec["state"])
        rows.append(row | {"label": f"{cid} {claim['part']}" if claim.get("part") else cid})
        if claim.get("untestable"):
            rows.append(untestable_row(cid, claim, row["chapter"]))
    return rows


def untestable_row(cid: str, claim: dict, chapter: str) -> dict:
    """The part of a claim no experiment here can decide: its own row and badge, so the tested part's badge
    is read for that part only."""
    part = claim["untestable"]
    return {"id": cid, "label": f"{cid} {part['part']}", "claim": part["claim"], "who": claim["who"],
            "verdict": "not testable here", "why": part["why"], "reason": part["why"], "chapter": chapter,
            "untestable": True}


def claims_table_markdown(rows: list[dict]) -> str:
    """The landing page's table: each claim, who made it, and its verdict as a badge linked to its chapter."""
    lines = ["| | claim | who | verdict |", "|---|---|---|---|"]
    for r in rows:
        verdict = (f"{{bdg-ref-{BADGE[r['verdict']]}}}`{r['verdict']} <{r['chapter']}-rule>`"
                   if r["chapter"] and not r.get("untestable") else badge(r["verdict"]))
        lines.append(f"| **{r['label']}** | {r['claim']} | {r['who']} | {verdict} |")
    return "\n".join(lines)


def counts_markdown(rows: list[dict]) -> str:
    found = {}
    for r in rows:
        found[r["verdict"]] = found.get(r["verdict"], 0) + 1
    return " ".join(f"{badge(v)} × {n}" for v, n in found.items())


def card_markdown(r: dict) -> str:
    """One claim as a card: a phone shows it as a block, not as a table row that scrolls."""
    lines = [f":::{{grid-item-card}} **{r['label']}** {badge(r['verdict'])}", "", f"{r['claim']} *({r['who']})*", ""]
    if r.get("untestable"):
        lines += [f"**Why not:** {r['why']}", ""]
        if r["chapter"]:
            lines += [f"{{doc}}`Chapter <{r['chapter']}>` tests the other part."]
    elif r["chapter"]:
        lines += [f"**Why:** {r['why']}", "",
                  f"**Deciding number:** {r['key'] or 'none'}", "",
                  f"**Rests on:** {r['rests_on'] or 'see the chapter'}.", "",
                  f"**Shown:** {shown_run(r)}", ""]
        if r["frontier"]:
            lines += [f"**Frontier models:** {r['frontier']}", ""]
        lines += [f"{{doc}}`Chapter <{r['chapter']}>` · {{ref}}`the rule <{r['chapter']}-rule>`", "",
                  "```{dropdown} The full reason", r["reason"], "```"]
    else:
        lines += ["No chapter tests this claim yet."]
    lines.append(":::")
    return "\n".join(lines)


def shown_run(r: dict) -> str:
    """Which run the card (and its chapter page) shows, and what the other run says."""
    seeds = ", ".join(map(str, r["seeds"]))
    if r["shows_record"]:
        confirmed = {"confirmed": "; confirmed at fresh seeds",
                     "not confirmed": "; not confirmed at fresh seeds"}.get(r["confirmation"], "")
        quick = ("no quick run in this build" if r["quick"] is None else
                 "the quick run agrees" if r["quick"] == r["verdict"] else f"the quick run reads {badge(r['quick'])}")
        return f"the full record, seeds {seeds}, {r['finished']}{confirmed}; {quick}."
    record = {"missing": "no full record yet",
              "stale": "the full record is stale (the code changed since)",
              "altered": "the full record no longer matches its hashes"}[r["record_state"]]
    read = f", and read {badge(r['record'])}" if r["record"] and r["record_state"] != "missing" else ""
    return f"the quick run, seeds {seeds}, {r['finished']}; {record}{read}."


def ledger_markdown(rows: list[dict]) -> str:
    cards = "\n\n".join(card_markdown(r) for r in rows)
    return f"{counts_markdown(rows)}\n\n::::{{grid}} 1 1 2 2\n:gutter: 2\n\n{cards}\n::::"


def minutes(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def report_markdown(results: dict[str, dict], records: dict[str, dict] | None = None) -> str:
    """Each chapter in book order: what produced its quick run and its full record."""
    records = records or {}
    lines = ["| chapter | run | seeds | time | commit, date | hardware | software |", "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        env = r["environment"]
        software = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if k in ("torch", "transformers"))
        shows_record = records.get(name, {}).get("state") == "current"
        lines.append(f"| {{doc}}`{name}` | quick{'' if shows_record else ' (shown)'} "
                     f"| {', '.join(map(str, r['seeds']))} | {minutes(r['wall_time_s'])} "
                     f"| `{r['commit']}`, {r['finished'][:10]} | {hardware(env)} "
                     f"| Python {env['python']}, {software} |")
        if name in records:
            p = records[name]["provenance"]
            state = "full record" + {"current": " (shown)"}.get(records[name]["state"], f" ({records[name]['state']})")
            software = ", ".join(f"{k} {v}" for k, v in p["packages"].items() if k in ("torch", "transformers"))
            lines.append(f"| | {state} | {', '.join(map(str, p['seeds']))} | {minutes(p['wall_time_s'])} "
                         f"| `{p['commit']}`, {p['finished'][:10]} | {p['hardware']} "
                         f"| Python {p['python']}, {software} |")
    return "\n".join(lines)


def model_markdown() -> str:
    from ..lab.smollm import GGUF_NAME, GGUF_SHA256, PACKAGE

    return f"The model file: `{GGUF_NAME}` from the PyPI package `{PACKAGE}`, sha256 `{GGUF_SHA256}`."


def book_results(results_dir) -> dict[str, dict]:
    """The results files of the chapters in the book now, in book order (a removed chapter's old file is ignored)."""
    from .results import read_all
    from .runner import notebooks

    found = read_all(results_dir)
    return {name: found[name] for name in notebooks() if name in found}


def book_records() -> dict[str, dict]:
    """The full records of the chapters in the book, each with its state (current or stale)."""
    from . import records
    from .runner import meta, notebooks

    out = {}
    for name, page in notebooks().items():
        if meta(page).get("summary"):
            continue
        state, record = records.status(name)
        if record is not None:
            out[name] = {**record, "state": state}
    return out


def book_pages() -> dict[str, Path]:
    from .runner import notebooks

    return notebooks()
