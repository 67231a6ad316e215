"""``python -m deepenough new NAME --claim C11 ...``: a new chapter from the templates in ``book/template/``.

One name makes three files: the page ``book/NAME.md``, its module ``deepenough/chapters/NAME.py`` (with the
claim's verdict function ``cN_verdict``) and its unit tests ``tests/chapters/test_NAME.py``. The page is
registered in ``_toc.yml`` (and a new claim in the claims registry). It never overwrites: if any of the three
files exists, nothing is written.

Every line of a template that the contributor must rewrite carries the marker ``TODO``; the linter reports
each one left (and each placeholder whose marker was deleted but whose words were kept).
"""
from __future__ import annotations

import keyword
import re
from pathlib import Path
from typing import NamedTuple

import yaml

from . import paths

PART = "The claims"
MARKER = "TODO"
# The templates, by the path (relative to the repository root) of the file each one becomes.
TEMPLATES = {
    "page": ("chapter.md", "book/{name}.md"),
    "module": ("chapter_module.py", f"{paths.CHAPTERS.relative_to(paths.ROOT).as_posix()}/{{name}}.py"),
    "test": ("test_chapter.py", "tests/chapters/test_{name}.py"),
}
# The words the scaffold replaces in every template; one left in a chapter means it was copied by hand.
TOKENS = ("CHAPTER_NAME", "CLAIM_ID", "CHAPTER TITLE", "VERDICT_FUNCTION")


class ScaffoldError(RuntimeError):
    pass


class Created(NamedTuple):
    page: Path
    module: Path
    test: Path


def verdict_function(claim: str) -> str:
    """The name of a claim's verdict function: C11 -> ``c11_verdict``."""
    return f"{claim.lower()}_verdict"


def template_dir(root: Path = paths.ROOT) -> Path:
    return root / paths.TEMPLATE.relative_to(paths.ROOT)


def targets(name: str, root: Path = paths.ROOT) -> Created:
    """Where the chapter ``name``'s page, module and tests live under ``root``."""
    return Created(*(root / target.format(name=name) for _, target in TEMPLATES.values()))


class IndentedDumper(yaml.SafeDumper):
    """Writes lists indented under their key, as _toc.yml is written by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def fill(text: str, name: str, claim: str, title: str) -> str:
    values = dict(zip(TOKENS, (name, claim, title, verdict_function(claim))))
    return re.sub("|".join(map(re.escape, TOKENS)), lambda m: values[m.group(0)], text)


def new_chapter(name: str, claim: str, title: str, quote: str | None = None, who: str | None = None,
                summary: str | None = None, root: Path = paths.ROOT, counter: str = "") -> Created:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or keyword.iskeyword(name):
        raise ScaffoldError(f"chapter name {name!r} must be lower_snake_case and not a Python keyword "
                            "(it names a module, files and glue keys)")
    if not re.fullmatch(r"C[1-9][0-9]*", claim):
        raise ScaffoldError(f"claim id {claim!r} must look like C11 (it names the verdict function)")
    if not title.strip() or "\n" in title or '"' in title or "\\" in title:
        raise ScaffoldError("give the title as one line of text, without double quotes or backslashes "
                            "(it is written into a Python docstring)")
    created = targets(name, root)
    existing = [p.relative_to(root).as_posix() for p in created if p.exists()]
    if existing:
        raise ScaffoldError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
                            "pick another name (nothing was changed)")
    registry = yaml.safe_load(registry_path(root).read_text())
    if claim not in registry and not (quote and who and summary):
        raise ScaffoldError(f"{claim} is not in the claims registry: give --quote (exact words from the debate), "
                            "--who (the speaker's role) and --summary (the claim in a sentence) to add it")

    texts = [fill((template_dir(root) / template).read_text(), name, claim, title)
             for template, _ in TEMPLATES.values()]
    for path, text in zip(created, texts):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    toc_path = root / paths.TOC.relative_to(paths.ROOT)
    toc = yaml.safe_load(toc_path.read_text())
    parts = toc.setdefault("parts", [])
    part = next((p for p in parts if p.get("caption") == PART), None)
    if part is None:
        part = {"caption": PART, "chapters": []}
        parts.insert(max(len(parts) - 1, 0), part)
    part["chapters"].append({"file": f"book/{name}"})
    toc_path.write_text(yaml.dump(toc, Dumper=IndentedDumper, sort_keys=False, allow_unicode=True))

    if claim not in registry:
        register_claim(claim, summary, who, quote, counter, root=root)
    return created


def registry_path(root: Path = paths.ROOT) -> Path:
    return root / paths.CLAIMS.relative_to(paths.ROOT)


def register_claim(claim: str, summary: str, who: str, quote: str, counter: str = "", root: Path = paths.ROOT) -> None:
    """Add a claim to the registry (``deepenough claim``; ``deepenough new`` calls it for a new claim id).
    Ids run from C1 without gaps, so the next free id is the only one accepted."""
    registry = yaml.safe_load(registry_path(root).read_text())
    expected = f"C{len(registry) + 1}"
    if claim in registry:
        raise ScaffoldError(f"{claim} is already registered: {registry[claim]['claim']}")
    if claim != expected:
        raise ScaffoldError(f"the next claim id is {expected}, not {claim} (ids run from C1 without gaps)")
    if not (summary and who and quote):
        raise ScaffoldError("a claim needs --summary (one sentence), --who (the speaker's role) and --quote "
                            "(exact words from the debate)")
    entry = {"claim": summary, "who": who, "quote": quote, "counter": counter}
    with registry_path(root).open("a") as f:
        f.write(yaml.safe_dump({claim: entry}, sort_keys=False, allow_unicode=True, width=120))


def placeholders(root: Path = paths.ROOT) -> list[str]:
    """What a template placeholder leaves behind if only its ``TODO`` marker is deleted, read from the templates.

    For each template line that carries the marker: the instruction after ``TODO:`` (e.g. "the exact words
    from the debate"), and the code or text before the marker when it is a statement on its own (e.g. the
    fake measurement ``values = [float(s) for s in seeds]``). Lines that hold a scaffold token are skipped.
    """
    folder = template_dir(root) if template_dir(root).is_dir() else paths.TEMPLATE
    found = []
    for template, _ in TEMPLATES.values():
        path = folder / template
        for line in path.read_text().splitlines() if path.exists() else []:
            if MARKER not in line:
                continue
            before, _, after = line.partition(MARKER)
            instruction = after.lstrip(":").split('"')[0].strip()  # a placeholder inside a string ends with it
            stub = before.rstrip()[:-1].strip() if before.rstrip().endswith("#") else ""  # code, then a TODO comment
            for text in (instruction, stub):
                if len(text.split()) >= 4 and not any(token in text for token in TOKENS) and text not in found:
                    found.append(text)
    return found
