"""The reliability probes of issue #25, item 10: each wrong input gives a clear message, never a traceback
or a silent success."""
import json
import shutil
import subprocess

import pytest

from deepenough.__main__ import main
from deepenough.machinery import paths, records, runner, scaffold


def test_diff_of_missing_or_empty_folders_is_an_error_not_no_change(tmp_path, capsys):
    assert main(["diff", str(tmp_path / "nope"), str(tmp_path)]) == 2
    assert "is not a folder of results files" in capsys.readouterr().err
    assert main(["diff", str(tmp_path), str(tmp_path)]) == 2
    assert "holds no results files" in capsys.readouterr().err
    (tmp_path / "kv_cache.json").write_text("{truncated")
    assert main(["diff", str(tmp_path), str(tmp_path)]) == 2
    assert "kv_cache.json is not a valid results file" in capsys.readouterr().err


def test_lint_of_a_missing_file_says_so(tmp_path, capsys):
    assert main(["lint", str(tmp_path / "nope.md")]) == 2
    assert "no such file" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_a_bad_number_of_jobs_or_slack_in_the_environment_is_refused_clearly(monkeypatch, value):
    monkeypatch.setenv("DEEPENOUGH_JOBS", value)
    with pytest.raises(SystemExit, match="DEEPENOUGH_JOBS"):
        runner.default_jobs()
    monkeypatch.setenv("DEEPENOUGH_BUDGET_SLACK", value)
    with pytest.raises(SystemExit, match="DEEPENOUGH_BUDGET_SLACK"):
        runner.number_from_environment("DEEPENOUGH_BUDGET_SLACK", 2.0)


@pytest.mark.parametrize("argv", [["build", "--jobs", "0"], ["build", "--jobs", "-2"],
                                  ["run", "kv_cache", "--seed", "-1"], ["record", "kv_cache", "--seed", "x"]])
def test_non_positive_jobs_and_negative_seeds_are_refused_by_the_command_line(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and "whole number" in capsys.readouterr().err


def test_a_negative_seed_is_refused_before_anything_runs():
    with pytest.raises(runner.ChapterError, match="seed must be 0 or more"):
        runner.run_chapter("kv_cache", seed=-1)


@pytest.fixture
def contributor(tmp_path):
    for path in (paths.TOC,):
        shutil.copy(path, tmp_path / path.relative_to(paths.ROOT))
    shutil.copytree(paths.TEMPLATE, tmp_path / paths.TEMPLATE.relative_to(paths.ROOT))
    (tmp_path / "deepenough" / "machinery").mkdir(parents=True)
    shutil.copy(paths.CLAIMS, tmp_path / paths.CLAIMS.relative_to(paths.ROOT))
    return tmp_path


@pytest.mark.parametrize("name", ["class", "import", "def"])
def test_new_refuses_a_name_python_cannot_import(contributor, name):
    with pytest.raises(scaffold.ScaffoldError, match="not a Python keyword"):
        scaffold.new_chapter(name, "C1", "A title", root=contributor)


@pytest.mark.parametrize("title", ["A \\N title", 'A "quoted" title', "two\nlines"])
def test_new_refuses_a_title_that_cannot_sit_in_a_docstring(contributor, title):
    with pytest.raises(scaffold.ScaffoldError, match="one line of text"):
        scaffold.new_chapter("fresh", "C1", title, root=contributor)


def test_new_keeps_the_table_of_contents_as_written_and_adds_one_line(contributor):
    toc = contributor / "_toc.yml"
    before = toc.read_text().splitlines()
    scaffold.new_chapter("fresh", "C1", "A fresh chapter", root=contributor)
    after = toc.read_text().splitlines()
    assert [line for line in after if line not in before] == ["      - file: book/fresh"]
    assert all(line in after for line in before)


def test_a_corrupt_record_names_its_file(tmp_path):
    folder = tmp_path / "kv_cache"
    folder.mkdir()
    (folder / "provenance.json").write_text("{}")
    (folder / "results.json").write_text("{not json")
    with pytest.raises(records.RecordError, match=r"kv_cache/results.json cannot be read"):
        records.read("kv_cache", tmp_path)


def test_an_interrupted_records_staging_folder_is_ignored_by_git(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text((paths.ROOT / ".gitignore").read_text())
    staging = tmp_path / "records" / ".kv_cache.abc123"
    staging.mkdir(parents=True)
    (staging / "results.json").write_text(json.dumps({}))
    out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path,
                         capture_output=True, text=True).stdout
    assert ".kv_cache" not in out
