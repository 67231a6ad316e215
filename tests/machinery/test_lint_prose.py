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


def results_typed(prose: str) -> list[str]:
    text = "---\ndeepenough:\n  chapter: toy\n  claims: []\n  budget_s: {quick: 60, full: 60}\n" \
           "  expected: {}\n---\n\n# Toy\n\n" + prose + "\n"
    return [m.group(1) for block in lint.prose_blocks(text) for m in lint.RESULT_LIKE.finditer(block.text)]


def test_every_written_form_of_a_result_is_caught():
    for prose, expected in (("It was right 97 percent of the time.", "97 percent"),
                            ("It forked 3 out of 40 runs.", "3 out of 40"),
                            ("The cache is 12 times faster.", "12 times"),
                            ("The cache is 3x faster.", "3x"),
                            ("The error is 2·10⁻⁶ relative.", "2·10⁻⁶"),
                            ("It was right 97% of the time.", "97%")):
        assert results_typed(prose) == [expected], prose
    assert results_typed("Claim C10 of 2024, with {glue:text}`toy-share` percent.") == []


def test_every_placeholder_form_is_caught(tmp_path):
    for line in ("TBD: the finding.", "todo: write the claim", "XXX fill in", "FIXME the figure", "TODO the rest"):
        page = tmp_path / "page.md"
        page.write_text(f"# Toy\n\n{line}\n")
        assert [p.line for p in lint.placeholder_problems(page, tmp_path)] == [3], line
    page.write_text("# Toy\n\nA finished sentence about a toddler.\n")
    assert lint.placeholder_problems(page, tmp_path) == []


def test_a_quotation_keeps_its_numbers_even_across_lines_but_our_own_prose_does_not(tmp_path):
    page = tmp_path / "book" / "toy.md"
    page.parent.mkdir()
    page.write_text("---\ndeepenough:\n  chapter: toy\n  claims: []\n  budget_s: {quick: 60, full: 60}\n"
                    "  expected: {}\n---\n\n# Toy\n\nThe author: \"Imagine an output 1000 times\nsmaller\". "
                    "Ours was 12 times smaller.\n")
    found = [p.message.split("`")[1] for p in lint.lint(page, registry={}, bibliography=set(), root=tmp_path)
             if "looks like a result" in p.message]
    assert found == ["12 times"]


def test_a_verdict_written_without_its_table_is_caught(tmp_path):
    page = tmp_path / "book" / "toy.md"
    page.parent.mkdir()
    front = "---\ndeepenough:\n  chapter: toy\n  claims: [C1]\n  budget_s: {quick: 60, full: 60}\n---\n\n# Toy\n\n"
    code = ("```{code-cell} ipython3\nfrom deepenough.machinery.results import ChapterRun, verdict\n"
            "run.write([verdict('C1', ruling._replace(verdict='supported'))], {}, [0])\n```\n")
    found = [p.message for p in lint.lint(page_with(page, front + code), registry={}, bibliography=set(),
                                          root=tmp_path)]
    assert "a verdict is written without its decision table" in found
    fixed = code.replace(", verdict\n", "\n").replace("verdict('C1', ruling._replace(verdict='supported'))",
                                                      "run.verdict(TABLES['C1'], ruling)")
    found = [p.message for p in lint.lint(page_with(page, front + fixed), registry={}, bibliography=set(),
                                          root=tmp_path)]
    assert "a verdict is written without its decision table" not in found


def page_with(page, text):
    page.write_text(text)
    return page


def test_internal_names_and_doubled_words_in_the_prose_are_caught():
    text = ("Prose.\n\nThe steps as `anatomy.serial_depth` counts them.\n\nThe The claims ledger, of {glue:text}`x` of "
            "them.\n\n```{code-cell} ipython3\nanatomy.serial_depth(config)\n```\n")
    found = [(p.line, p.message) for p in lint.slip_problems(Path("page.md"), text)]
    assert found == [(3, "internal name `anatomy.serial_depth` in the prose"), (5, "doubled word “The The”")]


def test_an_author_written_as_an_institution_loses_its_bibtex_braces():
    from pybtex.database import parse_string

    from deepenough.machinery.bibstyle import author_year

    entry = parse_string("@misc{k, author = {He, Horace and {Thinking Machines Lab}}, year = {2025}}", "bibtex")
    assert author_year(entry.entries["k"]) == "He and Thinking Machines Lab 2025"


def test_a_setting_typed_across_a_line_break_is_caught(tmp_path):
    page = tmp_path / "book" / "toy.md"
    page.parent.mkdir()
    page.write_text("---\ndeepenough:\n  chapter: toy\n  claims: []\n  budget_s: {quick: 60, full: 60}\n"
                    "  expected: {}\n---\n\n# Toy\n\nThe largest group holds {glue:text}`toy-n`. The 25\n"
                    "most common groups hold the rest.\n")
    problems = [p for p in lint.lint(page, registry={}, bibliography=set(), root=tmp_path) if "setting" in p.message]
    assert [(p.line, p.message.split("`")[1]) for p in problems] == [(11, "25")]


def test_lint_reports_words_quoted_that_the_debate_does_not_hold(tmp_path):
    page = tmp_path / "book" / "toy.md"
    page.parent.mkdir()
    page.write_text("---\ndeepenough:\n  chapter: toy\n  claims: []\n  budget_s: {quick: 60, full: 60}\n"
                    "  expected: {}\n---\n\n# Toy\n\nThe author calls it \"just an optimization\", not "
                    "\"a different computation\".\n")
    debate = "the kv cache is just an optimization"
    problems = [p for p in lint.lint(page, registry={}, bibliography=set(), root=tmp_path, debate=debate)
                if "quot" in p.message]
    assert [(p.line, "a different computation" in p.message) for p in problems] == [(11, True)]
