"""The linter's prose rule for settings: a number beside a word such as steps, seeds or layers is glued from
the code that sets it, never typed (a typed setting goes stale the moment the code changes)."""
from pathlib import Path

from deepenough.machinery import lint

PAGE = Path("book/toy.md")
FRONT = "---\ntitle: toy\n---\n\n"


def settings(prose: str) -> list[tuple[int, str]]:
    """(line, value) of each setting the rule reports in a page made of ``prose``."""
    found = []
    for problem in lint.setting_problems(PAGE, FRONT + prose):
        assert str(problem).startswith(f"{PAGE}:{problem.line}: ") and "glue" in problem.fix
        found.append((problem.line, problem.message.split("`")[1]))
    return found


def test_a_typed_setting_is_caught_with_its_line():
    prose = ("We train for a while.\n"
             "Each model trains for 400 steps with 3 seeds,\n"
             "at width 64, on 16 random bits; SmolLM2 has 30-layer blocks.\n")
    assert settings(prose) == [(6, "400"), (6, "3"), (7, "64"), (7, "16"), (7, "30")]


def test_a_glued_setting_a_quotation_and_small_or_unrelated_numbers_are_not_caught():
    prose = ("Each model trains for {glue:text}`toy-steps` steps with {glue:text}`toy-seeds` seeds at\n"
             "width {glue:text}`toy-width`; the author's \"200 steps\" is a quotation, `steps=400` is code,\n"
             "one layer is 1 layer, SmolLM2-135M is a name, and C10 was filed in 2024.\n")
    assert settings(prose) == []


def test_a_paragraph_or_list_item_that_cites_a_paper_keeps_its_numbers():
    prose = ("Allen-Zhu and Li store 2 bits per parameter after 1,000 exposures\n"
             "{cite:p}`allenzhu2024physics33`.\n"
             "\n"
             "- MobileLLM finds 30 layers best at 125M parameters {cite:p}`liu2024mobilellm`.\n"
             "- Our own model has 8 layers.\n")
    assert settings(prose) == [(9, "8")]


def test_code_cells_directive_options_and_headings_are_not_prose():
    prose = ("```{code-cell} ipython3\n"
             "STEPS = 400  # 400 steps\n"
             "```\n"
             "\n"
             "## Training for 400 steps\n")
    assert settings(prose) == []


def test_lint_reports_a_typed_setting_in_a_chapter(tmp_path):
    page = tmp_path / "book" / "toy.md"
    page.parent.mkdir()
    page.write_text("---\ndeepenough:\n  chapter: toy\n  claims: []\n  budget_s: {quick: 60, full: 60}\n"
                    "  expected: {}\n---\n\n# Toy\n\nEach model trains for 400 steps.\n")
    problems = [p for p in lint.lint(page, registry={}, bibliography=set(), root=tmp_path) if "setting" in p.message]
    assert [(p.line, p.message.split("`")[1]) for p in problems] == [(11, "400")]


def test_the_template_does_not_teach_typing_settings():
    page = Path(__file__).resolve().parents[2] / "book" / "template" / "chapter.md"
    assert lint.setting_problems(page, page.read_text()) == []
