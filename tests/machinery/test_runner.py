"""The runner's contract, on small fixture chapters in a temporary book."""
import shutil

import nbformat
import pytest

from deepenough.__main__ import main
from deepenough.machinery import runner


def run(book, name, **kwargs):
    return runner.run_chapter(name, root=book, build=book / "_build", **kwargs)

pytestmark = pytest.mark.slow  # most tests here start Jupyter kernels on fixture chapters


def test_good_chapter_writes_executed_notebook_and_results_then_is_cached(book):
    first = run(book, "good")
    assert first.ok and first.executed.exists() and first.results.exists() and not first.cached
    again = run(book, "good")
    assert again.ok and again.cached
    path = book / "book" / "good.md"
    path.write_text(path.read_text().replace("expected: {C1: supported}", "expected: {C1: refuted}"))
    assert run(book, "good").cached, "the expected verdicts are not executed, so they do not invalidate the cache"
    path.write_text(path.read_text().replace("1 / 1", "2 / 2"))
    assert not run(book, "good").cached, "a changed chapter must be re-executed"


def test_failing_cell_names_the_chapter_the_cell_and_the_error(book):
    outcome = run(book, "broken")
    assert not outcome.ok
    assert "'broken' failed in cell" in outcome.message and "ZeroDivisionError" in outcome.message
    assert "`from deepenough.machinery.results import" in outcome.message, "it quotes the failing cell's first line"


def test_a_chapter_that_writes_no_results_fails(book):
    outcome = run(book, "silent")
    assert not outcome.ok and "did not write" in outcome.message


def test_unknown_profile_missing_parameter_and_unknown_chapter_are_clear_errors(book):
    with pytest.raises(runner.ChapterError, match="unknown profile 'huge'"):
        run(book, "good", profile="huge")
    with pytest.raises(runner.ChapterError, match="must define seed"):
        run(book, "noseed")
    with pytest.raises(runner.ChapterError, match="no chapter named 'nope'"):
        run(book, "nope")


def test_run_all_reports_every_chapter_even_after_a_failure(book):
    outcomes = {o.chapter: o.ok for o in runner.run_all(root=book, build=book / "_build")}
    assert outcomes == {"good": True, "broken": False, "silent": False, "noseed": False, "slow": False}


def test_a_hang_is_stopped_with_a_clear_message(book, monkeypatch):
    monkeypatch.setattr(runner, "HANG_FACTOR", 2.0)
    outcome = run(book, "slow")
    assert not outcome.ok and "'slow' stopped: a cell ran past 4 s (2 × the quick budget: a hang" in outcome.message
    assert outcome.seconds < 20
    assert not (book / "_build" / "executed" / "slow.key").exists(), "nothing vouches for a stopped run"


def test_a_run_over_its_budget_finishes_and_reports_the_overrun_scaled_to_a_quiet_machine(book, monkeypatch):
    page = book / "book" / "slow.md"
    page.write_text(page.read_text().replace("time.sleep(30)", "time.sleep(6)"))
    monkeypatch.setattr(runner, "reference_seconds", lambda: runner.QUIET_REFERENCE_S)  # as if quiet
    outcome = run(book, "slow")
    assert outcome.ok and outcome.results.exists(), outcome.message
    assert "over 2 × its quick budget of 2 s" in outcome.message and outcome.quiet_seconds >= 6
    monkeypatch.setattr(runner, "reference_seconds", lambda: 8 * runner.QUIET_REFERENCE_S)  # eight times slower
    busy = run(book, "slow", force=True)
    assert busy.ok and busy.quiet_seconds < 4 and "over" not in busy.message


def test_cli_exit_codes(capsys):
    assert main(["run", "no_such_chapter"]) == 2
    assert "no chapter named" in capsys.readouterr().err
    assert main(["build", "--profile", "huge"]) == 2


def test_a_prose_edit_re_renders_without_re_executing(book):
    first = run(book, "good")
    assert first.ok
    code_outputs = [c.outputs for c in nbformat.read(first.executed, as_version=4).cells if c.cell_type == "code"]
    path = book / "book" / "good.md"
    path.write_text(path.read_text().replace("# good\n", "# good\n\nA new sentence of prose.\n"))
    again = run(book, "good")
    assert again.cached and "prose" in again.message
    notebook = nbformat.read(again.executed, as_version=4)
    assert any("A new sentence of prose." in c.source for c in notebook.cells if c.cell_type == "markdown")
    assert [c.outputs for c in notebook.cells if c.cell_type == "code"] == code_outputs
    assert run(book, "good").message == "unchanged since its last run (cached)"


def test_injected_parameters_stay_off_the_page(book):
    notebook = nbformat.read(run(book, "good").executed, as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and all("remove-cell" in c.metadata["tags"] for c in injected)


def test_two_at_a_time_gives_the_same_outcomes_as_one_at_a_time(book):
    outcomes = {o.chapter: o.ok for o in runner.run_all(root=book, build=book / "_build", jobs=2)}
    assert outcomes == {"good": True, "broken": False, "silent": False, "noseed": False, "slow": False}


def package_copy(tmp_path):
    """A copy of the package, and the cache keys of two pages against it (full profile, seed 0)."""
    package = tmp_path / "package_copy"
    shutil.copytree(runner.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))

    def keys(*names):
        return {name: runner.cache_key(runner.ROOT / "book" / f"{name}.md", {"profile": "full", "seed": 0}, package)
                for name in names}
    return package, keys


def test_a_chapter_module_edit_re_executes_that_chapter_only(tmp_path):
    package, keys = package_copy(tmp_path)
    before = keys("kv_cache", "jokes")
    (package / "chapters" / "jokes.py").write_text((package / "chapters" / "jokes.py").read_text() + "\n# edit\n")
    after = keys("kv_cache", "jokes")
    assert after["jokes"] != before["jokes"] and after["kv_cache"] == before["kv_cache"]


def test_a_lab_module_edit_re_executes_only_the_chapters_that_import_it(tmp_path):
    package, keys = package_copy(tmp_path)
    before = keys("kv_cache", "depth_width")
    ladder = package / "lab" / "ladder.py"
    ladder.write_text(ladder.read_text() + "\n# edit\n")
    after = keys("kv_cache", "depth_width")
    assert after["depth_width"] != before["depth_width"] and after["kv_cache"] == before["kv_cache"]
    stats = package / "lab" / "stats.py"  # imported by both
    stats.write_text(stats.read_text() + "\n# edit\n")
    assert all(key != after[name] for name, key in keys("kv_cache", "depth_width").items())


def test_a_chapter_key_covers_its_own_claims_entries_only(tmp_path):
    package, keys = package_copy(tmp_path)
    before = keys("kv_cache", "jokes")
    registry = package / "machinery" / "claims.yml"
    registry.write_text(registry.read_text() + "C99:\n  claim: A new claim.\n  who: a reader\n")
    assert keys("kv_cache", "jokes") == before
    registry.write_text(registry.read_text().replace("C1:\n  claim: ", "C1:\n  claim: Reworded. ", 1))
    after = keys("kv_cache", "jokes")
    assert after["kv_cache"] != before["kv_cache"] and after["jokes"] == before["jokes"]


def test_package_imports_resolve_relative_and_absolute_imports():
    source = "from . import tiny\nfrom .train import IGNORE\nimport deepenough.lab.stats\nimport numpy\n"
    found = runner.package_imports(source, "deepenough.lab.ladder")
    assert {"deepenough.lab.tiny", "deepenough.lab.train", "deepenough.lab.stats"} <= found
    assert not any(name.startswith("numpy") for name in found)
    files = runner.imported_files(["from deepenough.lab import ladder"], runner.PACKAGE)
    assert runner.PACKAGE / "lab" / "train.py" in files and runner.PACKAGE / "lab" / "smollm.py" not in files


def test_the_cache_key_ignores_prose_but_not_code(tmp_path):
    page = tmp_path / "kv_cache.md"
    text = (runner.ROOT / "book" / "kv_cache.md").read_text()
    page.write_text(text)
    key = runner.cache_key(page, {})
    page.write_text(text.replace("## The claim\n", "## The claim\n\nAn added sentence.\n"))
    assert runner.cache_key(page, {}) == key
    page.write_text(text.replace("import copy\n", "import copy  # edited\n"))
    assert runner.cache_key(page, {}) != key


def test_changing_the_package_code_invalidates_the_cache(book, tmp_path, monkeypatch):
    package = tmp_path / "package_copy"
    shutil.copytree(runner.PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(runner, "PACKAGE", package)
    assert run(book, "good").ok
    assert run(book, "good").cached
    (package / "lab" / "stats.py").write_text((package / "lab" / "stats.py").read_text() + "\n# a change\n")
    assert not run(book, "good").cached, "a change to the package must trigger re-execution"


def test_stability_reports_each_seeds_verdicts(book):
    found = runner.stability("good", seeds=(11, 22, 33), root=book, build=book / "_build")
    assert found == {11: {"C1": "supported"}, 22: {"C1": "supported"}, 33: {"C1": "supported"}}
    assert (book / "_build" / "stability" / "seed-22" / "results" / "good.json").exists()


def test_a_truncated_or_edited_results_file_is_re_executed_not_reported_cached(book, capsys):
    first = run(book, "good")
    first.results.write_text(first.results.read_text()[:40])
    again = run(book, "good")
    assert again.ok and not again.cached and "good.json does not match the execution" in capsys.readouterr().out
    assert runner.cached("good", "quick", 0, book, book / "_build")


def test_two_runs_of_one_chapter_at_once_wait_for_each_other_and_leave_a_vouched_execution(book):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: run(book, "good", force=True), range(2)))
    assert all(o.ok for o in outcomes)
    assert runner.cached("good", "quick", 0, book, book / "_build")
    assert not [p for p in (book / "_build").iterdir() if p.name.startswith(".good.")], "no private folder is left"


def test_a_failed_run_leaves_nothing_a_later_step_trusts(book):
    assert run(book, "good").ok
    page = book / "book" / "good.md"
    page.write_text(page.read_text().replace("1 / 1", "1 / 0"))
    assert not run(book, "good").ok
    assert not (book / "_build" / "results" / "good.json").exists()
    assert not (book / "_build" / "executed" / "good.key").exists()


def test_a_chapter_failing_after_it_wrote_its_results_leaves_no_results(book):
    page = book / "book" / "good.md"
    page.write_text(page.read_text() + "\n```{code-cell} ipython3\nraise RuntimeError('after the write')\n```\n")
    outcome = run(book, "good")
    assert not outcome.ok and "after the write" in outcome.message
    assert not (book / "_build" / "results" / "good.json").exists(), "the ledger must not read a failed run"
