"""The chapter linter: the shape every chapter promises its readers, checked line by line.

``python -m deepenough lint [FILE ...]`` (all chapters in ``_toc.yml`` by default). Each problem names
the file, the line and the fix. A chapter is one name in three files: the page ``book/<name>.md``, its
module ``deepenough/chapters/<name>.py`` and its tests ``tests/chapters/test_<name>.py``; a chapter that
tests claims needs all three, and no placeholder from the templates (``book/template/``) may be left in any.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import jupytext

from . import ledger, paths, prose, quotes, runner, scaffold
from .rules import VERDICTS

SECTIONS = ("claim", "predict", "experiment", "result", "verdict", "limitation")
# Digits that read like a measurement: decimals, percentages (also "97 percent"), thousands separators,
# scientific notation (also "2·10⁻⁶"), counts out of a total ("3 out of 40") and ratios ("12 times", "3x").
RESULT_LIKE = re.compile(
    r"(?<![\w.{`-])(\d+(?:\.\d+)?\s?(?:·|×)\s?10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+|\d+(?:\.\d+)?\s?(?:%|percent\b)"
    r"|\d+\s+out\s+of\s+\d+|\d+(?:\.\d+)?(?:\s?times\b|[x×](?![\w`]))"
    r"|\d+\.\d+|\d+(?:,\d{3})+|\d+(?:\.\d+)?e-?\d+)(?![\w`])")
# Placeholders beside the templates' own marker: a draft's TBD, XXX, FIXME or a todo in any case.
PLACEHOLDER = re.compile(r"\b(?:TBD|XXX|FIXME)\b|\btodo\b", re.I)


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


def prose_blocks(text: str, kinds=("paragraph", "list item")) -> list[prose.Block]:
    """The page's running prose (``prose.blocks``): by default paragraphs and list items outside directives;
    headings, tables, quotations and captions have rules of their own."""
    return [b for b in prose.blocks(text) if b.kind in kinds and not b.in_directive]


def without_quotations(text: str) -> str:
    """``text`` with the words inside double quotes blanked: a quotation's numbers are its speaker's."""
    return re.sub(r'"[^"]*"|“[^”]*”', lambda m: re.sub(r"[^\n]", " ", m.group()), text)


PACKAGE_MODULES = sorted(p.stem for folder in (paths.LAB, paths.CHAPTERS, paths.MACHINERY)
                         for p in folder.glob("*.py") if p.stem != "__init__")
INTERNAL_NAME = re.compile(rf"`((?:{'|'.join(PACKAGE_MODULES)})\.\w+)")   # `anatomy.serial_depth`
DOUBLED_WORD = re.compile(r"\b(the|a|an|of|to|in|is|and|that|it)\s+\1\b", re.IGNORECASE)


def slip_problems(path: Path, text: str) -> list[Problem]:
    """Slips a reader trips on: the package's internal names in the prose, a doubled word."""
    problems = []
    for block in prose.blocks(text):
        for match in INTERNAL_NAME.finditer(block.source):
            problems.append(Problem(path, block.line_at(match.start()),
                                    f"internal name `{match.group(1)}` in the prose",
                                    "say what it is in words, or point to its file (deepenough/…/module.py)"))
        shown = prose.NOT_PROSE.sub(lambda m: "∎" + re.sub(r"[^\n]", " ", m.group())[1:], block.source)
        for match in DOUBLED_WORD.finditer(shown):  # a glued value (∎) sits between two equal words
            problems.append(Problem(path, block.line_at(match.start()), f"doubled word “{match.group(0)}”",
                                    "drop one of them"))
    return problems


def page_root(path: Path) -> Path:
    """The repository a page belongs to: pages live in ``<root>/book/``."""
    path = Path(path).resolve()
    return path.parent.parent if path.parent.name == paths.BOOK.name else paths.ROOT


def placeholder_problems(path: Path, root: Path = paths.ROOT) -> list[Problem]:
    """Each line of ``path`` that still holds a placeholder from the templates, with its line number.

    A placeholder is a line carrying the templates' marker ``TODO``, a scaffold token (``CHAPTER_NAME`` …),
    or the words of a template placeholder whose marker was deleted (``scaffold.placeholders``).
    """
    leftovers = [p.lower() for p in scaffold.placeholders(root)]
    problems = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        shown = line.strip() if len(line.strip()) <= 90 else line.strip()[:87] + "..."
        token = next((t for t in scaffold.TOKENS if t in line), None)
        if re.search(rf"\b{scaffold.MARKER}\b", line) or PLACEHOLDER.search(line):
            problems.append(Problem(path, number, f"placeholder left from the template: `{shown}`",
                                    "write what the words after TODO ask for in its place, and delete the marker"))
        elif token:
            problems.append(Problem(path, number, f"template token `{token}` left: `{shown}`",
                                    "replace it with this chapter's name, claim, title or verdict function "
                                    "(`python -m deepenough new` fills them for you)"))
        elif any(p in line.lower() for p in leftovers):
            problems.append(Problem(path, number, f"placeholder text from the template left (its TODO was removed): "
                                    f"`{shown}`", "replace the placeholder itself, not only its marker"))
    return problems


def companion_problems(name: str, claims: list[str], root: Path) -> list[Problem]:
    """The chapter's module and tests exist; the module's docstring opens with its page and its claims."""
    _, module, test = scaffold.targets(name, root)
    page = f"book/{name}.md"
    problems = []
    for path, what in ((module, "module"), (test, "unit tests")):
        if not path.exists():
            problems.append(Problem(path, 1, f"the chapter {name!r} has no {what} file",
                                    f"create {path.relative_to(root)} (`python -m deepenough new` writes it from "
                                    f"book/template/); a chapter that tests claims has a page, a module and tests"))
        else:
            problems += placeholder_problems(path, root)
    if not module.exists():
        return problems
    try:
        tree = ast.parse(module.read_text())
    except SyntaxError as e:
        return problems + [Problem(module, e.lineno or 1, f"the module does not parse: {e.msg}", "fix the syntax")]
    docstring = ast.get_docstring(tree, clean=True)
    opening = (docstring or "").split("\n\n")[0]
    if not docstring:
        problems.append(Problem(module, 1, "the module has no docstring",
                                f'open it with its page and claims: """Page ``{page}``, claim {", ".join(claims)}: …'))
    else:
        if page not in opening and not re.search(rf"(?<![\w/]){re.escape(name)}(?!\w)", opening):
            problems.append(Problem(module, tree.body[0].lineno, f"the module's docstring does not open with its page "
                                    f"`{page}`", f"name `{page}` in the docstring's first paragraph"))
        missing = [c for c in claims if not re.search(rf"\b{c}\b", opening)]
        if missing:
            problems.append(Problem(module, tree.body[0].lineno, f"the module's docstring does not open with its "
                                    f"claim(s) {', '.join(missing)}",
                                    f"name {', '.join(missing)} in the docstring's first paragraph"))
    return problems


@dataclass
class Page:
    """A page's path, text and front-matter block, as every rule reads them."""
    path: Path
    text: str
    info: dict

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def line_of(self, pattern: str, default: int = 1) -> int:
        return next((i for i, line in enumerate(self.lines, 1) if re.search(pattern, line)), default)

    def problem(self, line: int, message: str, fix: str) -> Problem:
        return Problem(self.path, line, message, fix)


def lint(path: Path, registry: dict | None = None, bibliography: set[str] | None = None,
         root: Path | None = None, debate: str | None = None) -> list[Problem]:
    """Every problem with the page at ``path`` and, for a chapter that tests claims, its module and tests.

    ``root`` is the repository the page belongs to (default: the folder above its ``book/``); the registry,
    the bibliography, the templates and the chapter's module and tests are read from there, and the debate
    (``quotes.debate_text``) from beside it, where a checkout has it: without it quotations go unchecked.
    """
    root = page_root(path) if root is None else Path(root)
    if debate is None:
        debate = quotes.debate_text(root.parent / paths.DEBATE.relative_to(paths.ROOT.parent))
    if registry is None:
        own = root / paths.CLAIMS.relative_to(paths.ROOT)
        registry = ledger.claims(own if own.exists() else paths.CLAIMS)
    if bibliography is None:
        bibliography = bib_keys(root / paths.BIBLIOGRAPHY.relative_to(paths.ROOT))
    text = path.read_text()
    info = jupytext.reads(text, fmt="md:myst").metadata.get("deepenough")
    if not info:
        return [Problem(path, 1, "no `deepenough:` block in the front matter",
                        "copy the front matter of book/template/chapter.md")]
    page = Page(path, text, info)
    problems = (front_matter_problems(page, registry) + parameters_problems(page) + shown_code_problems(page)
                + contract_problems(page)
                + figure_problems(page) + citation_problems(page, bibliography) + result_problems(page)
                + setting_problems(path, text) + placeholder_problems(path, root) + slip_problems(path, text)
                + quotation_problems(page, debate))
    if not info.get("claims"):
        return sorted(problems, key=lambda p: p.line)  # tests no claim: no verdict sections, module or tests
    problems += section_problems(page)
    return sorted(problems, key=lambda p: p.line) + companion_problems(path.stem, list(info["claims"]), root)


def front_matter_problems(page: Page, registry: dict) -> list[Problem]:
    """The ``deepenough:`` block: every field, the chapter's own name, both budgets, registered claims with
    their scope, and expected verdicts from the vocabulary."""
    info, problems = page.info, []
    for field in ("chapter", "claims", "budget_s", "expected"):
        if field not in info:
            problems.append(page.problem(page.line_of("deepenough:"), f"front matter lacks `{field}`",
                                         f"add `{field}:` under `deepenough:`"))
    name = info.get("chapter")
    if name is not None and name != page.path.stem:
        problems.append(page.problem(
            page.line_of(r"^\s*chapter:"), f"front matter names the chapter {name!r} but the file is {page.path.name}",
            f"the chapter name is the file's stem: write `chapter: {page.path.stem}` (or rename the file)"))
    budget = info.get("budget_s", {})
    if not all(isinstance(budget.get(p), (int, float)) for p in ("quick", "full")):
        problems.append(page.problem(page.line_of("budget_s"), "no time budget declared for both profiles",
                                     "declare `budget_s: {quick: SECONDS, full: SECONDS}` (quick: 180 inference, "
                                     "300 training)"))
    for claim in info.get("claims", []):
        if claim not in registry:
            problems.append(page.problem(page.line_of(rf"\b{claim}\b"), f"claim {claim} is not in the claims registry",
                                         "add it to deepenough/machinery/claims.yml with its exact quote and speaker"))
        scope = info.get("scope", {}).get(claim, {})
        if not (scope.get("rests_on") and scope.get("frontier")):
            problems.append(page.problem(
                page.line_of("deepenough:"), f"front matter lacks the scope of {claim}'s verdict",
                f"add `scope: {{{claim}: {{rests_on: model and size, task, data; frontier: what the verdict does and "
                "does not say about frontier models}}` (the ledger shows both)"))
    for claim, snapshot in (info.get("expected") or {}).items():
        for expected in snapshot.values() if isinstance(snapshot, dict) else [snapshot]:
            if expected not in VERDICTS:
                problems.append(page.problem(
                    page.line_of("expected:"), f"expected verdict {expected!r} for {claim} is not in the vocabulary",
                    f"use one of: {', '.join(VERDICTS)} (or {{quick: …, full: …}} where the profiles differ)"))
    return problems


def parameters_problems(page: Page) -> list[Problem]:
    """A code cell tagged ``parameters`` that papermill can set the profile and seed in."""
    names = runner.parameter_names(jupytext.reads(page.text, fmt="md:myst"))
    if names is None:
        return [page.problem(1, "no code cell tagged `parameters`",
                             f"add a cell tagged [parameters] defining {', '.join(runner.PARAMETERS)}")]
    return [page.problem(page.line_of(r":tags: \[.*parameters"), f"the parameters cell does not define `{name}`",
                         f"add `{name} = ...` to the cell tagged parameters")
            for name in runner.PARAMETERS if name not in names]


SHOWN_LINES = 15  # the most lines a code cell the reader sees may hold: a few calls, not the plumbing
HIDDEN = {"remove-cell", "remove-input"}


def shown_code_problems(page: Page) -> list[Problem]:
    """The reader sees what ran: the settings of the profile that ran (a shown cell reading ``profile``) and the
    experiment calls, and no shown cell is longer than ``SHOWN_LINES`` (plumbing belongs in the module)."""
    cells = [c for c in jupytext.reads(page.text, fmt="md:myst").cells if c.cell_type == "code"]
    shown = [c for c in cells if not HIDDEN & set(c.metadata.get("tags", []))]
    problems = []
    if not any(re.search(r"\bprofile\b", c.source) for c in shown):
        problems.append(page.problem(page.line_of(r":tags: \[.*parameters"),
                                     "what the profile ran with is hidden from the reader",
                                     "show the cell that reads the profile's SETTINGS (tag it hide-input, and let it "
                                     "display them)"))
    if len(shown) < 2:
        problems.append(page.problem(1, "no experiment call is shown to the reader",
                                     "show the calls that run each experiment in a cell tagged hide-input"))
    for cell in shown:
        lines = cell.source.splitlines()
        if len(lines) > SHOWN_LINES:
            problems.append(page.problem(page.line_of(re.escape(lines[0])) if lines else 1,
                                         f"a shown code cell has {len(lines)} lines (at most {SHOWN_LINES})",
                                         "move the plumbing into the chapter's module, or split it into a hidden cell"))
    return problems


def contract_problems(page: Page) -> list[Problem]:
    """Verdicts written through their decision tables, and a results file written at the end."""
    problems = []
    if page.info.get("claims") and (
            not re.search(r"\brun\.verdict\(", page.text)
            or re.search(r"^from deepenough\.machinery\.results import .*\bverdict\b", page.text, re.M)):
        problems.append(page.problem(
            page.line_of(r"\bverdict\("), "a verdict is written without its decision table",
            "write each verdict with `run.verdict(TABLES[claim], ruling, key)`: it decides again from the ruling's "
            "values and stores the power of every outcome"))
    if "ChapterRun(" not in page.text or not re.search(r"\.write\(", page.text):
        problems.append(page.problem(
            len(page.lines), "the chapter never writes its results file",
            "create `run = ChapterRun(...)` at the top and call `run.write(verdicts, measurements, seeds)` at the end"))
    return problems


def figure_problems(page: Page) -> list[Problem]:
    """Each figure directive has alt text and a caption."""
    problems, lines = [], page.lines
    for i, line in enumerate(lines, 1):
        if not re.match(r"^`{3,}\{(glue:figure|figure)\}", line.strip()):
            continue
        block = []
        for following in lines[i:]:
            if following.strip().startswith("```"):
                break
            block.append(following)
        if not any(re.match(r"^:alt:\s*\S", b) for b in block):
            problems.append(page.problem(i, "figure without alt text",
                                         "add `:alt: <what the figure shows>` to the directive"))
        if not any(b.strip() and not b.startswith(":") for b in block):
            problems.append(page.problem(i, "figure without a caption",
                                         "write a caption (the finding) as the directive's body"))
    return problems


def citation_problems(page: Page, bibliography: set[str]) -> list[Problem]:
    """Each cited key is in references.bib."""
    return [page.problem(i, f"citation key `{key}` is not in references.bib", "add its BibTeX entry to references.bib")
            for i, line in enumerate(page.lines, 1)
            for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", line)
            for key in (k.strip() for k in keys.split(",")) if key not in bibliography]


def result_problems(page: Page) -> list[Problem]:
    """Each number in the prose that reads like a measurement: results reach the prose through glue.
    Skipped: quotations (their numbers are the speaker's), blocks that cite a paper, confidence levels."""
    problems = []
    for block in prose_blocks(page.text):
        if block.cites:
            continue
        text = without_quotations(block.text)
        for match in RESULT_LIKE.finditer(text):
            if re.match(r"\s*(\w+ )?(confidence|interval|-interval|CI\b)", text[match.end():]):
                continue
            problems.append(page.problem(
                block.line_at(match.start()), f"number `{match.group(1)}` typed into the prose looks like a result",
                "compute it in a cell and write {glue:text}`<chapter>-<name>` instead (or cite its source)"))
    return problems


def quotation_problems(page: Page, debate: str | None) -> list[Problem]:
    """Each quotation that is not the debate's exact words (``quotes.misquotations``), where the debate is at hand."""
    if debate is None:
        return []
    return [page.problem(line, message, "quote the debate exactly, or drop the quotation marks (italics for a term, "
                         "or a paraphrase)") for line, message in quotes.misquotations(page.text, debate)]


def section_problems(page: Page) -> list[Problem]:
    """The sections a chapter that tests claims promises, present and in order."""
    headings = [(i, line.lower()) for i, line in enumerate(page.lines, 1) if line.startswith("## ")]
    problems, position = [], 0
    for section in SECTIONS:
        found = next((k for k, (_, h) in enumerate(headings) if section in h), None)
        if found is None:
            problems.append(page.problem(len(page.lines), f"no `## …{section}…` section",
                                         f"add the section (required, in order: {', '.join(SECTIONS)})"))
        elif found < position:
            problems.append(page.problem(headings[found][0], f"section `{headings[found][1][3:]}` is out of order",
                                         f"sections go in this order: {', '.join(SECTIONS)}"))
        else:
            position = found
    return problems


# Words that name a setting of an experiment or a structural constant of a model (SmolLM2's 30 layers).
SETTING_WORDS = ("steps?|seeds?|layers?|tokens?|prompts?|samples?|epochs?|batch(?:es)?|widths?|depths?|chunks?|"
                 "facts?|heads?|words?|texts?|sequences?|dimensions?|parameters?|params|bits?|positions?|hops?|"
                 "blocks?|sentences?|examples?|exposures?|passes|strings?|chains?|lengths?|attributes?|folds?|"
                 "floats?|neurons?|units?|hidden|FFN|vocab(?:ulary)?|experts?|items?|pairs?|groups?|"
                 "temperatures?|wide")
_SETTING_NUMBER = r"(?<![\w.,{`/−-])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:[KMB]\b)?"
SETTING_LIKE = (  # "16 random bits", "30-layer", "512 test strings"; "width 64", "batch 64", "chains of 32"
    re.compile(rf"{_SETTING_NUMBER}(?:[\s-]+[a-z][\w'-]*){{0,2}}?[\s-]+(?:{SETTING_WORDS})\b", re.I),
    re.compile(rf"\b(?:{SETTING_WORDS})(?:\s+(?:of|at|up to|fixed at|is|was))?\s*[=:]?\s+{_SETTING_NUMBER}"
               rf"(?![\w.]\w)", re.I),
)


def setting_problems(path: Path, text: str) -> list[Problem]:
    """Each setting typed into the prose: a number of 2 or more beside a word such as steps, seeds, layers.

    A setting lives in a code cell and reaches the prose through glue, so prose and run cannot disagree.
    Skipped: code, roles and other inline spans, words in double quotes (the debate's "200 steps" is a
    quotation, not a setting) and blocks that cite a paper (numbers there are taken to be the paper's).
    """
    problems = []
    for block in prose_blocks(text):
        if block.cites:
            continue
        shown = without_quotations(block.text)
        found = {}
        for pattern in SETTING_LIKE:
            for match in pattern.finditer(shown):
                if float(match.group(1).replace(",", "")) >= 2:
                    found.setdefault(match.start(1), (match.group(1), " ".join(match.group(0).split())))
        for start in sorted(found):
            value, context = found[start]
            problems.append(Problem(path, block.line_at(start), f"setting `{value}` typed into the prose (`{context}`)",
                                    "glue it from the code cell that sets it: write "
                                    "{glue:text}`<chapter>-<name>` after run.glue(\"<name>\", value) "
                                    "(or cite its source)"))
    return problems


def chapter_files(root: Path = paths.ROOT) -> list[Path]:
    from .runner import meta, toc_files

    return [p for p in toc_files(root) if (m := meta(p)) and not m.get("summary")]
