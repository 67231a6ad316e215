"""Contributor tooling: the scaffold, the linter, and the verdict diff."""
import json
import shutil
from pathlib import Path

import pytest

from deepenough.machinery import lint, results, runner, scaffold, diff as verdict_diff
from deepenough.lab import stats

ROOT = Path(__file__).resolve().parent.parent
HONEST_EXPERIMENT = '''rng = np.random.default_rng(seed)
values = [rng.integers(0, 2, 1000).mean() for _ in seeds]  # share of heads in 1,000 fair coin flips per seed
result = stats.mean_ci(values)
glue("coin-mean", result["mean"], display=False)'''


@pytest.fixture
def repo(tmp_path):
    """A temporary copy of the parts of the repository a contributor touches."""
    for name in ("_toc.yml", "references.bib"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "book", tmp_path / "book", ignore=shutil.ignore_patterns("*.ipynb"))
    (tmp_path / "deepenough").mkdir()
    shutil.copy(ROOT / "deepenough" / "claims.yml", tmp_path / "deepenough" / "claims.yml")
    return tmp_path


def test_scaffolded_chapter_with_an_honest_experiment_lints_runs_and_validates(repo):
    path = scaffold.new_chapter("coin", "C11", "Is the coin fair?", quote="the coin is fair", who="a tester",
                                summary="A fair coin lands heads half the time.", root=repo)
    assert "book/coin" in (repo / "_toc.yml").read_text()
    text = path.read_text()
    text = text.replace("from myst_nb import glue", "import numpy as np\nfrom myst_nb import glue")
    text = text.replace('values = [float(s) for s in seeds]  # replace with the real measurement, one value per seed\n'
                        'result = stats.mean_ci(values)\nglue("coin-mean", result["mean"], display=False)',
                        HONEST_EXPERIMENT)
    text = text.replace('ruling = "supported" if result["low"] > THRESHOLD else "nuanced"',
                        'ruling = "supported" if result["low"] <= THRESHOLD <= result["high"] else "refuted"')
    path.write_text(text)
    registry = lint.ledger.claims(repo / "deepenough" / "claims.yml")
    assert lint.lint(path, registry, lint.bib_keys(repo / "references.bib")) == []

    # the runner resolves chapters through _toc.yml in the temporary copy
    outcome = runner.run_chapter("coin", root=repo, build=repo / "_build")
    assert outcome.ok, outcome.message
    data = json.loads(outcome.results.read_text())
    results.validate(data)
    assert data["verdicts"][0]["verdict"] == "supported" and data["claims"] == ["C11"]


def test_scaffold_refuses_to_overwrite_and_needs_a_quote_for_a_new_claim(repo):
    scaffold.new_chapter("twice", "C1", "Twice", root=repo)
    before = (repo / "_toc.yml").read_text()
    with pytest.raises(scaffold.ScaffoldError, match="already exists"):
        scaffold.new_chapter("twice", "C1", "Twice again", root=repo)
    assert (repo / "_toc.yml").read_text() == before
    with pytest.raises(scaffold.ScaffoldError, match="--quote"):
        scaffold.new_chapter("fresh", "C99", "Fresh", root=repo)


def test_broken_chapter_fails_the_linter_with_file_line_and_fix(repo):
    path = scaffold.new_chapter("broken", "C1", "Broken", root=repo)
    text = path.read_text()
    text = text.replace("## Limitations\n", "")
    text = text.replace("The measured mean is", "The measured mean is 0.73 (a 95% CI is a choice, not a result), and")
    text = text.replace(":alt: Describe what the figure shows for a reader who cannot see it.\n", "")
    text = text.replace("A caption that states the finding.", "A caption {cite:p}`nobody2099`.")
    path.write_text(text)
    problems = lint.lint(path, lint.ledger.claims(repo / "deepenough" / "claims.yml"), lint.bib_keys(repo / "references.bib"))
    messages = "\n".join(map(str, problems))
    assert "no `## …limitation…` section" in messages
    assert "number `0.73` typed into the prose" in messages
    assert "`95%`" not in messages
    assert "figure without alt text" in messages
    assert "citation key `nobody2099`" in messages
    typed = next(p for p in problems if "0.73" in p.message)
    assert path.read_text().splitlines()[typed.line - 1].count("0.73") == 1, "the reported line holds the number"
    assert all(str(p).startswith(f"{path}:") and " — fix: " in str(p) for p in problems)


def test_every_chapter_in_the_book_passes_the_linter():
    problems = [str(p) for f in lint.chapter_files() for p in lint.lint(f)]
    assert not problems, "\n".join(problems)


def write(directory, verdict, mean):
    run = results.ChapterRun("kv_cache", "quick", 0, directory)
    run.write([results.verdict("C1", results.Ruling(verdict, "a planted verdict for the diff"), key="gap")],
              {"gap": results.measurement(stats.mean_ci([mean - 0.1, mean + 0.1]), what="the gap")}, [0, 1])


def test_verdict_diff_shows_a_planted_change_and_nothing_else(tmp_path):
    old, same, new = tmp_path / "old", tmp_path / "same", tmp_path / "new"
    write(old, "supported", 1.0)
    write(same, "supported", 1.01)
    write(new, "refuted", 5.0)
    assert verdict_diff.diff(old, same) == ["no verdict or key number changed"]
    lines = verdict_diff.diff(old, new)
    assert "C1 (kv_cache): verdict supported -> refuted" in lines
    assert any(line.startswith("C1 (kv_cache): the gap: 1") and "-> 5" in line for line in lines)
