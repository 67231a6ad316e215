"""Every quotation from the debate on every page is exact (``deepenough.machinery.quotes``, which the
linter also runs), and the scanner finds quotations where a reader sees them and nowhere else."""
import pytest

from deepenough.machinery import paths, quotes, runner

PAGES = [p for p in runner.toc_files() if p.suffix == ".md"]
DEBATE = quotes.debate_text()


@pytest.mark.skipif(DEBATE is None, reason="the debate text is not beside this checkout")
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_every_quotation_is_the_debates_exact_words(page):
    problems = [f"{page.relative_to(paths.ROOT)}:{line}: {message}"
                for line, message in quotes.misquotations(page.read_text(), DEBATE)]
    assert not problems, "\n".join(problems)


def test_a_misquotation_and_an_unbalanced_mark_are_reported():
    debate = quotes.normal("It seems to me the KV cache is just an optimization.")
    page = ("> \"It seems to me the KV cache is only an optimization.\"\n> — the author\n\n"
            "Some \"made up words\" and \"one more.\n")
    problems = quotes.misquotations(page, debate)
    assert problems[0][0] == 1 and "block quote" in problems[0][1]
    kinds = {message.split(":")[0] for _, message in problems[1:]}
    assert kinds == {"quoted words not in the debate", "unbalanced double quotation marks in this block"}
    assert quotes.misquotations("> \"It seems to me the KV cache is just an optimization.\"\n", debate) == []


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
    found = quotes.inline_quotations(page)
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
    debate = quotes.normal("it’s all there for layer n+1′s attention to process, though. and more words later on")
    assert not quotes.verbatim_misses("it's all there for layer n+1's attention … more words later", debate)
    assert quotes.verbatim_misses("it's all here for layer n+1", debate)
