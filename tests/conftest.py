"""Session fixtures: the chapters are executed once (quick profile) and the book built once, then
every chapter, book and browser test reads what that produced."""
import pytest

from deepenough.machinery import runner


@pytest.fixture(scope="session")
def chapter_outcomes():
    return {o.chapter: o for o in runner.run_all(profile="quick", seed=0)}


@pytest.fixture(scope="session")
def built_book(chapter_outcomes):
    failed = [o.message for o in chapter_outcomes.values() if not o.ok]
    if failed:
        pytest.fail("chapters failed, so the book was not built:\n" + "\n".join(failed))
    assert runner.build_html() == 0, "jupyter-book build -W reported warnings or errors (see its output above)"
    return runner.BUILD / "html"
