"""Every quotation from the debate in a chapter is exact: each quoted fragment appears verbatim in the
debate text (elisions marked with … or [...] split a quote into fragments)."""
import re
from pathlib import Path

import pytest

from deepenough.machinery import paths, runner

DEBATE = paths.DEBATE
PAGES = [p for p in runner.toc_files() if p.suffix == ".md"]


def quotations(text: str) -> list[tuple[int, str]]:
    """Block quotes that open with a quotation mark, joined across lines, with their first line."""
    found, current, start = [], [], 0
    for number, line in enumerate(text.splitlines() + [""], 1):
        if line.startswith(">"):
            body = line[1:].strip()
            if not current:
                start = number
            current.append(body)
        elif current:
            joined = " ".join(b for b in current if b)
            if joined.startswith(("\"", "“")):
                found.append((start, joined.split("—")[0].strip()))
            current = []
    return found


@pytest.mark.skipif(not DEBATE.exists(), reason="the debate text is not beside this checkout")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_debate_quotations_are_verbatim(page):
    debate = " ".join(p.read_text() for p in DEBATE.glob("*.txt"))
    for line, quote in quotations(page.read_text()):
        inner = quote.strip().strip("\"“”").strip()
        for fragment in re.split(r"\s*(?:…|\[\.\.\.\]|\[…\]|\.\.\.)\s*", inner):
            fragment = fragment.strip(" .,;:").strip()
            if len(fragment) > 3:
                assert fragment in debate, f"{page.name}:{line}: not verbatim in the debate: {fragment!r}"
