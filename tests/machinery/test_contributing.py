"""Contributor tooling: the scaffold, the linter, and the verdict diff."""
import functools
import json
import os
import shutil
import subprocess
import sys

import pytest

from deepenough.__main__ import main
from deepenough.machinery import ledger, lint, paths, results, runner, scaffold


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A temporary copy of what a contributor touches: ``_toc.yml``, the bibliography, the book with its
    templates, and the whole ``deepenough`` package (the claims registry is part of it).

    A new chapter's module lands in the copy's ``deepenough/chapters/``, so the copy goes first on
    PYTHONPATH: a chapter kernel started by the runner, or a pytest run of the chapter's unit tests, then
    imports ``deepenough`` from the copy, exactly as it would in the contributor's checkout.
    """
    for path in (paths.TOC, paths.BIBLIOGRAPHY):
        shutil.copy(path, tmp_path / path.relative_to(paths.ROOT))
    shutil.copytree(paths.BOOK, tmp_path / paths.BOOK.relative_to(paths.ROOT), ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copytree(paths.PACKAGE, tmp_path / paths.PACKAGE.relative_to(paths.ROOT),
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    return tmp_path


def unit_tests(repo, name):
    """Run a chapter's unit tests in the copy, as a contributor would."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/chapters/test_{name}.py"]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True)


def line_holding(path, text):
    """The number of the one line of ``path`` that holds ``text``."""
    found = [i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    assert len(found) == 1, f"{text!r} is on lines {found} of {path.name}"
    return found[0]


@pytest.mark.slow  # runs pytest in a subprocess
def test_a_fresh_scaffold_has_passing_unit_tests_and_fails_the_linter_at_each_placeholder(repo):
    created = scaffold.new_chapter("fresh", "C1", "A fresh chapter", root=repo)
    assert created == (repo / "book" / "fresh.md", repo / "deepenough" / "chapters" / "fresh.py",
                       repo / "tests" / "chapters" / "test_fresh.py")
    assert "book/fresh" in (repo / "_toc.yml").read_text()
    module = created.module.read_text()
    assert module.startswith('"""Page ``book/fresh.md``, claim C1: A fresh chapter\n') and "def c1_verdict(" in module
    assert 'TABLES = {"C1": Table(' in module
    assert "from deepenough.chapters import fresh" in created.page.read_text()

    # the template's tests are real tests of the template's verdict function: they pass as scaffolded
    tests = unit_tests(repo, "fresh")
    assert tests.returncode == 0 and "7 passed" in tests.stdout, tests.stdout + tests.stderr

    # ... but the chapter is not done: every placeholder is reported, with its file and line
    problems = lint.lint(created.page, root=repo)
    assert problems and all("placeholder" in p.message for p in problems), "\n".join(map(str, problems))
    flagged = {(p.path, p.line): p.message for p in problems}
    page = created.page
    for text in ('> "TODO: the exact words from the debate"',  # the quote
                 "values = [float(s) for s in seeds]",  # the fake measurement: the seed numbers themselves
                 "TODO: why the threshold",  # the reason the rule draws its line there
                 ":alt: TODO: describe what the figure shows",  # the alt text
                 "TODO: a caption that states the finding.",  # the caption
                 "TODO: what is measured, on which model"):
        number = line_holding(page, text)
        assert (page, number) in flagged, f"{page.name}:{number} ({text}) is not reported"
        assert text.strip("`> ") in flagged[page, number], "the message quotes the line"
    assert (created.module, line_holding(created.module, "THRESHOLD = 0.5  # TODO:")) in flagged
    assert any(path == created.test for path, _ in flagged)
    for path in created:  # each marker is one problem, and nothing unmarked is called a placeholder
        marked = {i for i, line in enumerate(path.read_text().splitlines(), 1) if scaffold.MARKER in line}
        assert {line for p, line in flagged if p == path} == marked, path.name
    assert all(str(p).startswith(f"{p.path}:{p.line}: ") and " — fix: " in str(p) for p in problems)


def test_a_placeholder_whose_marker_alone_was_deleted_is_still_reported(repo):
    created = scaffold.new_chapter("sly", "C1", "Sly", root=repo)
    text = created.page.read_text()
    text = text.replace("  # TODO: the real measurement, one value per seed (these are the seed numbers)", "")
    text = text.replace("TODO: a caption", "A caption")
    created.page.write_text(text)
    problems = lint.lint(created.page, root=repo)
    reported = {p.line for p in problems if "its TODO was removed" in p.message}
    page = created.page
    assert reported == {line_holding(page, "values = [float(s) for s in seeds]"),
                        line_holding(page, "A caption that states the finding.")}


# An honest chapter written into the scaffold: a simulated coin, fair by construction, flipped per seed.
COIN_MODULE = '''"""Page ``book/coin.md``, claim C11: is the coin fair?

A simulated coin is flipped a fixed number of times per seed; the claim holds if the interval over seeds
of the share of heads lies within a tenth of one half.
"""
from __future__ import annotations

from ..lab import stats
from ..machinery.power import Table, World
from ..machinery.rules import Rule, Ruling, always

SETTINGS = {"quick": {"seeds": 3, "flips": 1_000}, "full": {"seeds": 10, "flips": 100_000}}
FAIR_SHARE = 0.5  # a fair coin lands heads half the time: that is what "fair" means
TOLERANCE = 0.1   # a coin within a tenth of one half is called fair here


def summarise(per_seed, design) -> dict:
    return {"share": stats.mean_ci(per_seed)}


C11_RULES = (
    Rule("supported", f"the interval of the share of heads lies within {TOLERANCE:g} of {FAIR_SHARE:g}",
         lambda v: FAIR_SHARE - TOLERANCE <= v["share"]["low"] and v["share"]["high"] <= FAIR_SHARE + TOLERANCE),
    Rule("refuted", f"the interval of the share of heads lies more than {TOLERANCE:g} from {FAIR_SHARE:g}", always),
)


def coin(p):
    return lambda rng, design: rng.binomial(design["flips"], p, design["seeds"]) / design["flips"]


TABLES = {"C11": Table("C11", C11_RULES, summarise,
                       (World("supported", "a fair coin", coin(FAIR_SHARE)),
                        World("refuted", "a coin landing heads 80% of the time", coin(0.8))),
                       designs=SETTINGS)}


def c11_verdict(per_seed, profile: str) -> Ruling:
    """C11 from the share of heads of each seed."""
    share = stats.mean_ci(per_seed)
    return TABLES["C11"].decide(per_seed, profile, f"the share of heads is [{share['low']:.3g}, {share['high']:.3g}]")
'''
COIN_TESTS = '''"""Unit tests for deepenough/chapters/coin.py: each outcome of c11_verdict, reached by shares."""
from deepenough.chapters.coin import FAIR_SHARE, TABLES, c11_verdict
from deepenough.machinery.power import unreachable


def test_shares_of_heads_around_one_half_support_fairness():
    assert c11_verdict([FAIR_SHARE - 0.02, FAIR_SHARE, FAIR_SHARE + 0.01], "quick").verdict == "supported"


def test_shares_of_heads_away_from_one_half_refute_fairness_and_both_are_reached_under_full():
    assert c11_verdict([0.8, 0.82, 0.79], "quick").verdict == "refuted"
    assert unreachable(TABLES["C11"].power("full")) == []
'''
# Every placeholder of the page, and the settings and names the coin needs, as (template text, coin text).
COIN_PAGE = [
    ('rests_on: "TODO: the model and its size, the task and data the verdict rests on"',
     "rests_on: a simulated coin, numpy's default generator"),
    ('frontier: "TODO: what the verdict does and does not say about frontier models"',
     "frontier: nothing; it checks the book's machinery"),
    ("import matplotlib.pyplot as plt\n", "import matplotlib.pyplot as plt\nimport numpy as np\n"),
    ('> "TODO: the exact words from the debate"', '> "the coin is fair"'),
    ("> — TODO: the speaker's role (the author, Radford Neal, a commenter), never a name the debate does not use",
     "> — a tester"),
    ("TODO: what we would see if the claim holds, and what we would see if its opponents are right.",
     "If the coin is fair, the share of heads is near one half in every run; if it is biased, it sits further "
     "from one half than the runs disagree with each other."),
    ("TODO: what is measured, on which model, and why it tells the predictions apart.",
     "Each seed flips a simulated coin (numpy's default generator) and records the share of heads."),
    ("values = [float(s) for s in seeds]  # TODO: the real measurement, one value per seed "
     "(these are the seed numbers)",
     'values = [np.random.default_rng(s).integers(0, 2, SETTINGS["flips"]).mean() for s in seeds]  # heads share'),
    ("TODO: the finding in a sentence, with its numbers glued:", "The share of heads is"),
    ('ylabel="TODO: the quantity (its unit)"', 'ylabel="share of heads"'),
    (":alt: TODO: describe what the figure shows, for a reader who cannot see it.",
     ":alt: The share of heads for each seed, every point close to one half."),
    ("TODO: a caption that states the finding.", "Every seed's share of heads is close to one half."),
    ('unit="TODO: its unit", what="TODO: what the number is, in a few words"', 'unit="", what="share of heads"'),
    ('run.glue("threshold", coin.THRESHOLD)', 'run.glue("fair-share", coin.FAIR_SHARE)'),
    ("TODO: why the threshold {glue:text}`coin-threshold` is the right line, and what the verdict does and does not "
     "say about frontier models.",
     "A fair coin gives {glue:text}`coin-fair-share` heads; this says nothing about models."),
    ("TODO: what the quick profile cannot show, what a full-scale run would change, and the papers that anchor it.",
     "A simulated coin is fair by construction: this checks the book's machinery, not a coin."),
]


@pytest.mark.slow  # runs pytest in a subprocess and the chapter in a kernel
def test_scaffolded_chapter_with_an_honest_experiment_lints_runs_and_validates(repo):
    claim = f"C{len(ledger.claims()) + 1}"  # the next free id: the coin's claim is a new one
    module, tests = (text.replace("C11", claim).replace("c11", claim.lower()) for text in (COIN_MODULE, COIN_TESTS))
    created = scaffold.new_chapter("coin", claim, "Is the coin fair?", quote="the coin is fair", who="a tester",
                                   summary="A fair coin lands heads half the time.", root=repo)
    assert "book/coin" in (repo / "_toc.yml").read_text()
    text = created.page.read_text()
    for template, filled in COIN_PAGE:
        assert text.count(template) == 1, f"the template changed; this test no longer fills: {template!r}"
        text = text.replace(template, filled)
    assert scaffold.MARKER not in text, "a placeholder of the template is not filled by this test"
    created.page.write_text(text)
    created.module.write_text(module)
    created.test.write_text(tests)
    assert lint.lint(created.page, root=repo) == []

    tests = unit_tests(repo, "coin")
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr

    # the runner resolves chapters through _toc.yml in the copy; the kernel imports deepenough.chapters.coin from it
    outcome = runner.run_chapter("coin", root=repo, build=repo / "_build")
    assert outcome.ok, outcome.message
    data = json.loads(outcome.results.read_text())
    results.validate(data)
    assert data["claims"] == [claim] and data["verdicts"][0]["verdict"] == "supported", data["verdicts"]
    assert data["verdicts"][0]["reason"].startswith("the share of heads is [0.4")
    assert set(data["verdicts"][0]["power"]) == {"supported", "refuted"}
    rows = ledger.ledger_rows(ledger.claims(scaffold.registry_path(repo)), {"coin": data})
    listed = [(r["label"], r["verdict"], r["chapter"]) for r in rows if r["id"] == claim]
    assert listed == [(claim, "supported", "coin")], "the ledger lists the new claim with its verdict"


def test_scaffold_refuses_to_overwrite_any_of_its_files_and_needs_a_quote_for_a_new_claim(repo):
    toc = repo / "_toc.yml"
    scaffold.new_chapter("twice", "C1", "Twice", root=repo)
    before = toc.read_text()
    with pytest.raises(scaffold.ScaffoldError, match="already exist"):
        scaffold.new_chapter("twice", "C1", "Twice again", root=repo)
    assert toc.read_text() == before

    mine = repo / "deepenough" / "chapters" / "taken.py"  # only the module is there: nothing may be written
    mine.write_text('"""Somebody else\'s module."""\n')
    with pytest.raises(scaffold.ScaffoldError, match="deepenough/chapters/taken.py already exists"):
        scaffold.new_chapter("taken", "C1", "Taken", root=repo)
    assert mine.read_text() == '"""Somebody else\'s module."""\n' and toc.read_text() == before
    assert not (repo / "book" / "taken.md").exists() and not (repo / "tests" / "chapters" / "test_taken.py").exists()

    with pytest.raises(scaffold.ScaffoldError, match="--quote"):
        scaffold.new_chapter("fresh", "C99", "Fresh", root=repo)
    assert not any(p.exists() for p in scaffold.targets("fresh", repo)) and toc.read_text() == before


def test_a_claim_is_registered_at_the_next_free_id_with_its_quote_and_speaker(repo, monkeypatch, capsys):
    registry = scaffold.registry_path(repo)
    after = f"C{len(ledger.claims(registry)) + 1}"
    monkeypatch.setattr(scaffold, "register_claim", functools.partial(scaffold.register_claim, root=repo))
    assert main(["claim", "C99", "--summary", "s", "--who", "a tester", "--quote", "q"]) == 2
    assert "the next claim id is" in capsys.readouterr().err
    assert main(["claim", after, "--summary", "A tester's claim.", "--who", "a tester", "--quote", "words",
                 "--counter", "other words"]) == 0
    entry = ledger.claims(registry)[after]
    assert entry == {"claim": "A tester's claim.", "who": "a tester", "quote": "words", "counter": "other words"}
    assert main(["claim", after, "--summary", "s", "--who", "w", "--quote", "q"]) == 2


def test_broken_chapter_fails_the_linter_with_file_line_and_fix(repo):
    created = scaffold.new_chapter("broken", "C1", "Broken", root=repo)
    path = created.page
    text = path.read_text()
    text = text.replace("## Limitations\n", "")
    text = text.replace("TODO: the finding in a sentence, with its numbers glued:",
                        "The measured mean is 0.73 (a 95% CI is a choice, not a result), and")
    text = text.replace(":alt: TODO: describe what the figure shows, for a reader who cannot see it.\n", "")
    text = text.replace("TODO: a caption that states the finding.", "A caption {cite:p}`nobody2099`.")
    text = text.replace("chapter: broken", "chapter: broke")
    path.write_text(text)
    created.test.unlink()
    created.module.write_text('"""Machinery for a chapter."""\n')
    problems = lint.lint(path, root=repo)
    messages = "\n".join(map(str, problems))
    assert "no `## …limitation…` section" in messages
    assert "number `0.73` typed into the prose" in messages
    assert "`95%`" not in messages
    assert "figure without alt text" in messages
    assert "citation key `nobody2099`" in messages
    assert "front matter names the chapter 'broke' but the file is broken.md" in messages
    assert f"{created.test}:1: the chapter 'broken' has no unit tests file" in messages
    assert f"{created.module}:1: the module's docstring does not open with its page `book/broken.md`" in messages
    assert f"{created.module}:1: the module's docstring does not open with its claim(s) C1" in messages
    typed = next(p for p in problems if "0.73" in p.message)
    assert path.read_text().splitlines()[typed.line - 1].count("0.73") == 1, "the reported line holds the number"
    assert all(str(p).startswith(f"{p.path}:{p.line}: ") and " — fix: " in str(p) for p in problems)

    created.module.unlink()
    messages = "\n".join(map(str, lint.lint(path, root=repo)))
    assert f"{created.module}:1: the chapter 'broken' has no module file" in messages


def test_a_page_that_hides_what_ran_or_shows_plumbing_fails_the_linter(repo):
    created = scaffold.new_chapter("hidden", "C1", "Hidden", root=repo)
    text = created.page.read_text()
    shown_settings = ':tags: [hide-input]\nrun = ChapterRun('
    assert text.count(shown_settings) == 1, "the template changed; this test no longer hides its settings"
    plumbing = "\n".join(f"run.glue('line-{i}', {i})" for i in range(16))
    text = text.replace(shown_settings, ':tags: [remove-cell]\nrun = ChapterRun(')
    cell = f"```{{code-cell}} ipython3\n:tags: [hide-input]\n{plumbing}\n```\n"
    text = text.replace("## Results\n", f"## Results\n\n{cell}")
    created.page.write_text(text)
    messages = "\n".join(map(str, lint.lint(created.page, root=repo)))
    assert "what the profile ran with is hidden from the reader" in messages
    assert "a shown code cell has 16 lines (at most 15)" in messages
    text = text.replace(":tags: [hide-input]\nvalues =", ":tags: [remove-input]\nvalues =")
    created.page.write_text(text.replace(f":tags: [hide-input]\n{plumbing}", f":tags: [remove-cell]\n{plumbing}"))
    assert "no experiment call is shown to the reader" in "\n".join(map(str, lint.lint(created.page, root=repo)))


def test_the_command_line_prints_the_three_new_files_and_lint_exits_1_on_problems(repo, monkeypatch, capsys):
    monkeypatch.setattr(scaffold, "new_chapter", functools.partial(scaffold.new_chapter, root=repo))
    assert main(["new", "cli", "--claim", "C1", "--title", "From the command line"]) == 0
    out = capsys.readouterr().out
    for path in scaffold.targets("cli", repo):
        assert f"created {path}\n" in out
    assert main(["lint", str(repo / "book" / "cli.md")]) == 1
    out = capsys.readouterr().out
    assert f"{repo / 'book' / 'cli.md'}:" in out and f"{repo / 'deepenough' / 'chapters' / 'cli.py'}:" in out
    assert main(["new", "cli", "--claim", "C1", "--title", "Again"]) == 2


def test_every_chapter_in_the_book_passes_the_linter():
    problems = [str(p) for f in lint.chapter_files() for p in lint.lint(f)]
    assert not problems, "\n".join(problems)
