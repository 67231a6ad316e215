"""The chapter linter: the shape every chapter promises its readers, checked line by line.

``python -m deepenough lint [FILE ...]`` (all chapters in ``_toc.yml`` by default). Each problem names
the file, the line and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import jupytext
import yaml

from . import ledger, paths

SECTIONS = ("claim", "predict", "experiment", "result", "verdict", "limitation")
# Digits that read like a measurement: decimals, percentages, thousands separators, scientific notation.
RESULT_LIKE = re.compile(r"(?<![\w.{`-])(\d+\.\d+|\d+(?:,\d{3})+|\d+(?:\.\d+)?\s?%|\d+(?:\.\d+)?e-?\d+)(?![\w`])")
INLINE_SKIP = re.compile(r"\{[\w:-]+\}`[^`]*`|`[^`]*`|\$[^$]*\$|\[[^\]]*\]\([^)]*\)")


@dataclass
class Problem:
    path: Path
    line: int
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message} — fix: {self.fix}"


def bib_keys(path: Path = paths.BIBLIOGRAPHY) -> set[str]:
    return set(re.findall(r"@\w+\{([^,\s]+),", path.read_text())) if path.exists() else set()


def prose_lines(text: str):
    """(line number, text) of Markdown prose: outside front matter, code cells, directives, quotes, math."""
    fence, in_front = None, text.startswith("---")
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if in_front:
            in_front = not (number > 1 and stripped == "---")
            continue
        if fence:
            if stripped == fence:
                fence = None
            continue
        opener = re.match(r"^(`{3,}|:{3,}|\$\$)", stripped)
        if opener:
            fence = opener.group(1) if opener.group(1) != "$$" else "$$"
            continue
        if stripped.startswith((">", "|", "#", ":", "<!--")):
            continue
        yield number, line


def lint(path: Path, registry: dict | None = None, bibliography: set[str] | None = None) -> list[Problem]:
    registry = ledger.claims() if registry is None else registry
    bibliography = bib_keys() if bibliography is None else bibliography
    text = path.read_text()
    lines = text.splitlines()
    problems: list[Problem] = []

    def add(line, message, fix):
        problems.append(Problem(path, line, message, fix))

    def line_of(pattern, default=1):
        for i, line in enumerate(lines, 1):
            if re.search(pattern, line):
                return i
        return default

    info = jupytext.reads(text, fmt="md:myst").metadata.get("deepenough")
    if not info:
        add(1, "no `deepenough:` block in the front matter", "copy the front matter of book/template/chapter.md")
        return problems
    for field in ("chapter", "claims", "budget_s", "expected"):
        if field not in info:
            add(line_of("deepenough:"), f"front matter lacks `{field}`", f"add `{field}:` under `deepenough:`")
    budget = info.get("budget_s", {})
    if not all(isinstance(budget.get(p), (int, float)) for p in ("quick", "full")):
        add(line_of("budget_s"), "no time budget declared for both profiles",
            "declare `budget_s: {quick: SECONDS, full: SECONDS}` (quick: 180 inference, 300 training)")
    for claim in info.get("claims", []):
        if claim not in registry:
            add(line_of(rf"\b{claim}\b"), f"claim {claim} is not in the claims registry",
                "add it to deepenough/claims.yml with its exact quote and speaker")

    params = re.search(r"```\{code-cell\}[^\n]*\n:tags: \[[^\]]*parameters[^\]]*\]\n(.*?)```", text, re.S)
    if not params:
        add(1, "no code cell tagged `parameters`", "add a cell tagged [parameters] defining profile, seed, results_dir")
    else:
        for name in ("profile", "seed"):
            if not re.search(rf"^{name}\s*=", params.group(1), re.M):
                add(line_of(r":tags: \[.*parameters"), f"the parameters cell does not define `{name}`",
                    f"add `{name} = ...` to the cell tagged parameters")
    if "ChapterRun(" not in text or not re.search(r"\.write\(", text):
        add(len(lines), "the chapter never writes its results file",
            "create `run = ChapterRun(...)` at the top and call `run.write(verdicts, measurements, seeds)` at the end")

    for i, line in enumerate(lines, 1):
        if re.match(r"^`{3,}\{(glue:figure|figure)\}", line.strip()):
            block = []
            for following in lines[i:]:
                if following.strip().startswith("```"):
                    break
                block.append(following)
            if not any(re.match(r"^:alt:\s*\S", b) for b in block):
                add(i, "figure without alt text", "add `:alt: <what the figure shows>` to the directive")
            if not any(b.strip() and not b.startswith(":") for b in block):
                add(i, "figure without a caption", "write a caption (the finding) as the directive's body")
    for i, line in enumerate(lines, 1):
        for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", line):
            for key in (k.strip() for k in keys.split(",")):
                if key not in bibliography:
                    add(i, f"citation key `{key}` is not in references.bib", "add its BibTeX entry to references.bib")

    for paragraph in paragraphs(prose_lines(text)):
        if any("{cite" in line for _, line in paragraph):
            continue  # numbers in a paragraph that cites a paper are taken to be the paper's
        for number, line in paragraph:
            prose = INLINE_SKIP.sub("", line)
            for match in RESULT_LIKE.finditer(prose):
                if re.match(r"\s*(confidence|interval|-interval|CI\b)", prose[match.end():]):
                    continue  # the confidence level of an interval is a choice, not a result
                add(number, f"number `{match.group(1)}` typed into the prose looks like a result",
                    "compute it in a cell and write {glue:text}`<chapter>-<name>` instead (or cite its source)")
    if not info.get("claims"):
        return problems  # an introductory chapter tests no claim: no verdict sections required
    headings = [(i, line.lower()) for i, line in enumerate(lines, 1) if line.startswith("## ")]
    position = 0
    for section in SECTIONS:
        found = next((k for k, (_, h) in enumerate(headings) if section in h), None)
        if found is None:
            add(len(lines), f"no `## …{section}…` section",
                f"add the section (required, in order: {', '.join(SECTIONS)})")
        elif found < position:
            add(headings[found][0], f"section `{headings[found][1][3:]}` is out of order",
                f"sections go in this order: {', '.join(SECTIONS)}")
        else:
            position = found

    return problems


def paragraphs(numbered_lines):
    """Group prose lines into paragraphs (runs of consecutive, non-blank lines)."""
    current, last = [], None
    for number, line in numbered_lines:
        if current and (not line.strip() or number != last + 1):
            yield current
            current = []
        if line.strip():
            current.append((number, line))
        last = number
    if current:
        yield current


def chapter_files(root: Path = paths.ROOT) -> list[Path]:
    from .runner import meta, toc_files

    return [p for p in toc_files(root) if (m := meta(p)) and not m.get("summary")]
