"""``python -m deepenough new NAME --claim C11 ...``: a new chapter from the template, registered in
``_toc.yml`` (and, for a new claim, in the claims registry). It never overwrites."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from . import paths

PART = "The claims"


class ScaffoldError(RuntimeError):
    pass


def new_chapter(name: str, claim: str, title: str, quote: str | None = None, who: str | None = None,
                summary: str | None = None, root: Path = paths.ROOT) -> Path:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ScaffoldError(f"chapter name {name!r} must be lower_snake_case (it names files and glue keys)")
    target = root / "book" / f"{name}.md"
    if target.exists():
        raise ScaffoldError(f"{target.relative_to(root)} already exists; pick another name (nothing was changed)")
    registry_path = root / paths.CLAIMS.relative_to(paths.ROOT)
    registry = yaml.safe_load(registry_path.read_text())
    if claim not in registry and not (quote and who and summary):
        raise ScaffoldError(f"{claim} is not in the claims registry: give --quote (exact words from the debate), "
                            "--who (the speaker's role) and --summary (the claim in a sentence) to add it")

    text = (root / "book" / "template" / "chapter.md").read_text()
    target.write_text(text.replace("CHAPTER_NAME", name).replace("CLAIM_ID", claim).replace("CHAPTER TITLE", title))

    toc_path = root / "_toc.yml"
    toc = yaml.safe_load(toc_path.read_text())
    parts = toc.setdefault("parts", [])
    part = next((p for p in parts if p.get("caption") == PART), None)
    if part is None:
        part = {"caption": PART, "chapters": []}
        parts.insert(max(len(parts) - 1, 0), part)
    part["chapters"].append({"file": f"book/{name}"})
    toc_path.write_text(yaml.safe_dump(toc, sort_keys=False, allow_unicode=True))

    if claim not in registry:
        with registry_path.open("a") as f:
            f.write("\n" + yaml.safe_dump({claim: {"claim": summary, "who": who, "quote": quote, "counter": ""}},
                                          sort_keys=False, allow_unicode=True, width=120))
    return target
