"""Every quotation from the debate in a chapter is exact: each quoted fragment appears verbatim in the
debate text (elisions marked with … or [...] split a quote into fragments).

Two kinds of quotation are checked: block quotes that open with a quotation mark, and inline phrases of
two or more words in double quotes (straight or curly) anywhere in a page's prose — paragraphs, lists,
headings, tables and figure captions, but not code cells, front matter, directive options, math, inline
code or roles such as glue. An inline phrase is exempt when its paragraph cites a paper (then they are
the paper's words) or when it is in the small allow-list below. Words nobody in the debate wrote take no
quotation marks: italicise a term, or paraphrase without quotes.
"""
import re

import pytest

from deepenough.machinery import paths, runner

DEBATE = paths.DEBATE
PAGES = [p for p in runner.toc_files() if p.suffix == ".md"]

# Quoted phrases that are not the debate's words and may keep their quotation marks. Keep it tiny, and say
# why for each.
ALLOWED: dict[str, str] = {}

QUOTE_MARKS = "\"“”″"
# Typographic variants the debate and the pages use interchangeably.
NORMAL = str.maketrans({"’": "'", "‘": "'", "′": "'", "“": '"', "”": '"', "″": '"', "−": "-", "\u00a0": " "})
ELISION = re.compile(r"\s*(?:…|\.\.\.|\[[^\]]*\])\s*")  # … or ... or any [bracketed] elision or insertion
# Spans of a prose line that are not prose: roles ({glue:text}`…`, {cite:p}`…`), inline code, inline math.
NOT_PROSE = re.compile(r"\{[\w:-]+\}`[^`]*`|`[^`]*`|\$[^$\n]*\$")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
CODE_DIRECTIVES = ("code-cell", "code", "code-block", "math", "eval-rst", "raw")


def normal(text: str) -> str:
    return " ".join(text.translate(NORMAL).split())


def debate_text() -> str:
    return normal(" ".join(p.read_text() for p in sorted(DEBATE.glob("*.txt"))))


def verbatim_misses(quote: str, debate: str) -> list[str]:
    """The fragments of ``quote`` (split at elisions) that do not appear in the (normalised) debate."""
    misses = []
    for fragment in ELISION.split(normal(quote).strip().strip('"').strip()):
        fragment = fragment.strip(" .,;:!?").strip()
        if len(fragment) > 3 and fragment not in debate:
            misses.append(fragment)
    return misses


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


def prose(text: str):
    """(line number, line) of a page's prose, with ``None`` lines marking paragraph breaks.

    Skipped: front matter, code cells and other code-like directives, directive options, display math,
    HTML comments and block quotes (checked by :func:`quotations`). A table row and a list item are
    paragraphs of their own.
    """
    lines = text.splitlines()
    fence, code, in_front, in_comment, options, first = None, False, text.startswith("---"), False, False, False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if in_front:
            in_front = not (number > 1 and stripped == "---")
            continue
        if in_comment:
            in_comment = "-->" not in stripped
            continue
        if fence:
            if stripped == fence:
                fence = None
                yield number, None
            elif code:
                pass
            elif (first and stripped == "---") or options:  # a directive's YAML block of options
                options = not (options and stripped == "---")
            elif re.match(r"^:[\w-]+:", stripped):
                pass  # a directive option
            else:
                yield number, line
            first = False
            continue
        opener = re.match(r"^(`{3,}|~{3,}|:{3,})\s*(\{([\w:-]+)\})?", stripped)
        if opener:
            fence = opener.group(1)
            code = not opener.group(3) or opener.group(3) in CODE_DIRECTIVES
            first = True
            yield number, None
            continue
        if stripped == "$$":
            fence, code = "$$", True
            continue
        if stripped.startswith("<!--"):
            in_comment = "-->" not in stripped
            continue
        if not stripped or stripped.startswith(">"):
            yield number, None
            continue
        if stripped.startswith("|"):
            yield number, None
            yield number, line
            yield number, None
            continue
        if LIST_ITEM.match(line):
            yield number, None  # each item of a list is a paragraph of its own
        yield number, line


def paragraphs(text: str):
    """Lists of (line number, line) of prose, split at blank lines, fences and table rows."""
    current = []
    for number, line in list(prose(text)) + [(0, None)]:
        if line is None:
            if current:
                yield current
            current = []
        else:
            current.append((number, line))


def line_at(starts: list[tuple[int, int]], offset: int) -> int:
    """The line number of ``offset`` in a paragraph joined from lines that start at ``starts``."""
    return max(n for start, n in starts if start <= offset)


def inline_quotations(text: str) -> list[tuple[int, str, bool]]:
    """Inline double-quoted phrases of two or more words: (line, phrase, whether the paragraph cites a paper).

    Quotation marks are paired in order within a paragraph, so a quote may span a line break. An odd
    number of marks in a paragraph is reported as the phrase ``"<unbalanced>"``. A glued value is not prose,
    so quotation marks around one (a model's output, say) are not checked here.
    """
    found = []
    for paragraph in paragraphs(text):
        cites = any(re.search(r"\{cite(?::\w+)?\}`", line) for _, line in paragraph)
        joined, starts = "", []
        for number, line in paragraph:
            starts.append((len(joined), number))
            joined += NOT_PROSE.sub(lambda m: " " * len(m.group()), line) + " "
        marks = [i for i, c in enumerate(joined) if c in QUOTE_MARKS]
        if len(marks) % 2:
            found.append((line_at(starts, marks[-1]), "<unbalanced>", cites))
            marks = marks[:-1]
        for open_, close in zip(marks[::2], marks[1::2]):
            phrase = " ".join(joined[open_ + 1:close].split())
            if len(phrase.split()) >= 2:
                found.append((line_at(starts, open_), phrase, cites))
    return found


@pytest.mark.skipif(not DEBATE.exists(), reason="the debate text is not beside this checkout")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_debate_quotations_are_verbatim(page):
    debate = debate_text()
    for line, quote in quotations(page.read_text()):
        misses = verbatim_misses(quote, debate)
        assert not misses, f"{page.name}:{line}: not verbatim in the debate: {misses[0]!r}"


@pytest.mark.skipif(not DEBATE.exists(), reason="the debate text is not beside this checkout")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_inline_quotations_are_verbatim(page):
    debate = debate_text()
    problems = []
    for line, phrase, cites in inline_quotations(page.read_text()):
        if phrase == "<unbalanced>":
            problems.append(f"{page.name}:{line}: unbalanced double quotation marks in this paragraph")
        elif not cites and phrase not in ALLOWED and verbatim_misses(phrase, debate):
            problems.append(f"{page.name}:{line}: quoted words not in the debate: \"{phrase}\" — quote the "
                            "debate exactly, or drop the quotation marks (italics for a term, or a paraphrase)")
    assert not problems, "\n".join(problems)


def test_inline_quotations_are_found_where_they_should_be():
    page = "\n".join([
        "---", "title: x", "---", "",
        "The author: \"not nearly as “deep” as\" and", "a \"made up",
        "phrase\" here, {glue:text}`c-n` \"glued words\" `\"code words\"` $\"math words\"$.", "",
        "```{code-cell} ipython3", 'x = "code cell words"', "```", "",
        "A paper says \"its own words\" {cite:p}`key`.", "",
        "```{glue:figure} c-fig", ":alt: \"alt text words\"", "", "A caption with \"caption words here\".", "```",
        "", "| a \"table cell\" | b |", "", "> \"block quote words\"", "",
        "- an item that cites {cite:p}`key`", "- an item with \"its own phrase\"",
    ])
    found = inline_quotations(page)
    phrases = {p: (n, cites) for n, p, cites in found}
    assert phrases["made up phrase"] == (6, False)
    assert phrases["glued words"] == (7, False)
    assert phrases["its own words"] == (13, True)
    assert phrases["caption words here"][0] == 18
    assert phrases["table cell"][0] == 21
    assert not {"code words", "math words", "code cell words", "alt text words", "block quote words"} & set(phrases)
    assert phrases["its own phrase"] == (26, False)
    assert "<unbalanced>" not in phrases


def test_verbatim_allows_typography_and_elisions():
    debate = normal("it’s all there for layer n+1′s attention to process, though. and more words later on")
    assert not verbatim_misses("it's all there for layer n+1's attention … more words later", debate)
    assert verbatim_misses("it's all here for layer n+1", debate)
