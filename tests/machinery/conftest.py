"""A tiny book of fixture chapters in a temporary folder, for the runner's and the records' tests."""
import pytest

HEADER = """---
jupytext:
  text_representation: {{extension: .md, format_name: myst}}
kernelspec: {{display_name: Python 3, language: python, name: python3}}
deepenough: {{chapter: {name}, claims: [C1], budget_s: {{quick: 60, full: 60}}, expected: {{C1: supported}}}}
---
# {name}

```{{code-cell}} ipython3
:tags: [parameters]
{parameters}
```
"""
WRITE = """
```{code-cell} ipython3
from deepenough.machinery.results import ChapterRun, measurement, verdict
from deepenough.machinery.rules import Rule, always, decide
from deepenough.lab.stats import mean_ci
run = ChapterRun("NAME", profile, seed, results_dir)
x = 1 / 1
```

```{code-cell} ipython3
ruling = decide((Rule("supported", "the fixture says so", always),), {})
run.write([verdict("C1", ruling, "x")], {"x": measurement(mean_ci([x]))}, [seed])
```
"""
PARAMS = 'profile = "quick"\nseed = 0\nresults_dir = None'


def chapter(name, parameters=PARAMS, body=WRITE):
    return HEADER.format(name=name, parameters=parameters) + body.replace("NAME", name)


@pytest.fixture
def book(tmp_path):
    """good runs; broken fails in a cell; silent writes no results; noseed lacks a parameter; slow overruns."""
    pages = {
        "good": chapter("good"),
        "broken": chapter("broken", body=WRITE.replace("1 / 1", "1 / 0")),
        "silent": chapter("silent", body="\n```{code-cell} ipython3\nx = 1\n```\n"),
        "noseed": chapter("noseed", parameters='profile = "quick"\nresults_dir = None'),
        "slow": chapter("slow", body=WRITE.replace("x = 1 / 1", "import time; time.sleep(30); x = 1")
                        ).replace("quick: 60", "quick: 2"),
    }
    (tmp_path / "book").mkdir()
    for name, text in pages.items():
        (tmp_path / "book" / f"{name}.md").write_text(text)
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    chapters = "\n".join(f"  - file: book/{n}" for n in pages)
    (tmp_path / "_toc.yml").write_text(f"format: jb-book\nroot: book/intro\nchapters:\n{chapters}\n")
    return tmp_path
