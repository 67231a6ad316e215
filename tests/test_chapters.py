"""Every chapter in _toc.yml, executed in the quick profile: it must run, write a valid results file, stay
within its time budget, and reach the verdicts it declares. A flipped verdict fails with the claim and
the chapter's own reason."""
import pytest

from deepenough.machinery import results, runner

pytestmark = pytest.mark.book

NOTEBOOKS = runner.notebooks()
CHAPTERS = [name for name, path in NOTEBOOKS.items() if not runner.meta(path).get("summary")]


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_executes(chapter_outcomes, name):
    outcome = chapter_outcomes[name]
    assert outcome.ok, outcome.message


@pytest.mark.parametrize("name", CHAPTERS)
def test_results_match_schema_and_declared_verdicts(chapter_outcomes, name):
    outcome = chapter_outcomes[name]
    if not outcome.ok:
        pytest.fail(outcome.message)
    data = results.read_all(outcome.results.parent)[name]
    info = runner.meta(NOTEBOOKS[name])
    assert data["profile"] == "quick"
    assert sorted(data["claims"]) == sorted(info["claims"]), "the claims tested differ from the front matter"
    found = {v["claim"]: v for v in data["verdicts"]}
    for claim, expected in info["expected"].items():
        expected = expected.get("quick") if isinstance(expected, dict) else expected
        got = found[claim]
        assert got["verdict"] == expected, (
            f"{claim} moved from '{expected}' to '{got['verdict']}' in chapter {name}: {got['reason']}")


@pytest.mark.parametrize("name", CHAPTERS)
def test_quick_profile_fits_its_budget(chapter_outcomes, name):
    """Read on the time scaled to a quiet machine (a reference workload timed beside the run), so a busy
    machine reports its overrun without failing a correct run."""
    outcome = chapter_outcomes[name]
    budget = runner.meta(NOTEBOOKS[name])["budget_s"]["quick"]
    assert outcome.quiet_seconds is not None, "the runner measures every execution against the reference"
    print(f"{name}: {outcome.seconds:.0f} s wall, {outcome.quiet_seconds:.0f} s on a quiet machine")
    assert outcome.quiet_seconds <= runner.BUDGET_SLACK * budget, (
        f"{name} took {outcome.quiet_seconds:.0f} s (scaled to a quiet machine) in quick; its budget is {budget} s")

