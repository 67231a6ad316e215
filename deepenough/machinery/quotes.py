"""Every quotation from the debate on a page is exact: each quoted fragment appears verbatim in the debate
text (elisions marked with … or [...] split a quote into fragments).

Two kinds of quotation are checked: block quotes that open with a quotation mark, and phrases of two or
more words in double quotes (straight or curly) anywhere in a page's prose (``prose.blocks``: paragraphs,
lists, headings, tables and directive bodies such as captions). A phrase is exempt when its block cites a
paper (then they are the paper's words). Words nobody in the debate wrote take no quotation marks:
italicise a term, or paraphrase without quotes.
"""
from __future__ import annotations

import re
from pathlib import Path

from . import paths, prose

QUOTE_MARKS = "\"“”″"
# Typographic variants the debate and the pages use interchangeably.
NORMAL = str.maketrans({"’": "'", "‘": "'", "′": "'", "“": '"', "”": '"', "″": '"', "−": "-", "\u00a0": " "})
ELISION = re.compile(r"\s*(?:…|\.\.\.|\[[^\]]*\])\s*")  # … or ... or any [bracketed] elision or insertion
UNBALANCED = "<unbalanced>"


def normal(text: str) -> str:
    return " ".join(text.translate(NORMAL).split())


def debate_text(debate: Path = paths.DEBATE) -> str | None:
    """The whole debate, normalised; None where no debate sits beside this checkout."""
    files = sorted(debate.glob("*.txt")) if debate.exists() else []
    return normal(" ".join(p.read_text() for p in files)) if files else None


def verbatim_misses(quote: str, debate: str) -> list[str]:
    """The fragments of ``quote`` (split at elisions) that do not appear in the (normalised) debate."""
    misses = []
    for fragment in ELISION.split(normal(quote).strip().strip('"').strip()):
        fragment = fragment.strip(" .,;:!?").strip()
        if len(fragment) > 3 and fragment not in debate:
            misses.append(fragment)
    return misses


def block_quotations(text: str) -> list[tuple[int, str]]:
    """Block quotes that open with a quotation mark (their attribution after a dash left off), by line."""
    return [(b.line, b.source.split("—")[0].strip()) for b in prose.blocks(text)
            if b.kind == "quote" and b.source.startswith(("\"", "“"))]


def inline_quotations(text: str) -> list[tuple[int, str, bool]]:
    """Double-quoted phrases of two or more words: (line, phrase, whether their block cites a paper).

    Quotation marks are paired in order within a block, so a quote may span a line break; an odd number
    of marks is reported as the phrase ``UNBALANCED``. Marks inside a glued value, code or math are not prose.
    """
    found = []
    for block in prose.blocks(text):
        if block.kind == "quote":
            continue
        marks = [i for i, c in enumerate(block.text) if c in QUOTE_MARKS]
        if len(marks) % 2:
            found.append((block.line_at(marks[-1]), UNBALANCED, block.cites))
            marks = marks[:-1]
        for start, end in zip(marks[::2], marks[1::2]):
            phrase = " ".join(block.text[start + 1:end].split())
            if len(phrase.split()) >= 2:
                found.append((block.line_at(start), phrase, block.cites))
    return found


def misquotations(text: str, debate: str) -> list[tuple[int, str]]:
    """(line, what is wrong) for each quotation on a page that is not the debate's exact words."""
    problems = []
    for line, quote in block_quotations(text):
        misses = verbatim_misses(quote, debate)
        if misses:
            problems.append((line, f"a block quote is not verbatim in the debate: {misses[0]!r}"))
    for line, phrase, cites in inline_quotations(text):
        if phrase == UNBALANCED:
            problems.append((line, "unbalanced double quotation marks in this block"))
        elif not cites and verbatim_misses(phrase, debate):
            problems.append((line, f"quoted words not in the debate: \"{phrase}\""))
    return problems
