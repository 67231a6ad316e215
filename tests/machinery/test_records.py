"""``deepenough record``: a chapter's full run, stored with its provenance, refused when it cannot be trusted."""
import json
import subprocess

import nbformat
import pytest

from deepenough.machinery import paths, records, runner, site

pytestmark = pytest.mark.slow  # every test here starts Jupyter kernels


def commit_all(root):
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "book"], cwd=root, check=True)


@pytest.fixture
def repo(book):
    commit_all(book)
    return book


@pytest.fixture
def good_only(book):
    """The fixture book with its one good chapter, committed."""
    for name in ("broken", "silent", "noseed", "slow"):
        (book / "book" / f"{name}.md").unlink()
    (book / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/good\n")
    commit_all(book)
    return book


def test_a_record_holds_the_notebook_results_and_complete_provenance(repo):
    folder = records.make("good", root=repo, records=repo / "records")
    record = records.read("good", repo / "records")
    assert records.check(record) == []
    assert record["provenance"]["key"] == records.full_key("good", repo)
    assert record["results"]["profile"] == "full"
    assert sorted(p.name for p in folder.iterdir()) == ["notebook.ipynb", "provenance.json", "results.json"]
    assert [p.name for p in (repo / "records").iterdir()] == ["good"], "no staging folder is left behind"
    assert records.status("good", repo, repo / "records")[0] == "current"


def test_a_dirty_tree_or_a_failed_run_writes_no_record(repo):
    with pytest.raises(records.RecordError, match="failed"):
        records.make("broken", root=repo, records=repo / "records")
    assert not (repo / "records" / "broken").exists()
    page = repo / "book" / "good.md"
    page.write_text(page.read_text() + "\n")
    with pytest.raises(records.RecordError, match="uncommitted"):
        records.make("good", root=repo, records=repo / "records")
    assert not (repo / "records" / "good").exists()


def test_recording_all_resumes_where_it_stopped(good_only, monkeypatch):
    repo = good_only
    assert records.make_all(root=repo, records=repo / "records") == [("good", "recorded")]
    monkeypatch.setattr(records, "make", lambda *a, **k: pytest.fail("a current record must not be re-run"))
    assert records.make_all(root=repo, records=repo / "records") == [("good", "current, kept")]


def test_a_stale_record_is_flagged_on_its_page(good_only):
    repo = good_only
    records.make("good", root=repo, records=repo / "records")
    page = repo / "book" / "good.md"
    page.write_text(page.read_text().replace("x = 1 / 1", "x = 2 / 2"))   # the chapter's code changed
    assert records.status("good", repo, repo / "records")[0] == "stale"
    assert runner.run_chapter("good", root=repo, build=repo / "_build").ok
    src = site.stage(repo, repo / "_build", repo / "records")
    notebook = nbformat.read(src / "book" / "good.ipynb", as_version=4)
    notes = [c.source for c in notebook.cells if "profile-note" in c.metadata.get("tags", [])]
    assert len(notes) == 1 and "stale" in notes[0] and "deepenough record good" in notes[0]
    downloads = src / "book" / "downloads" / "good"
    assert sorted(p.name for p in downloads.iterdir()) == ["measurements.csv", "results.json"], "the quick run's"
    assert json.loads((downloads / "results.json").read_text())["profile"] == "quick"


def test_a_current_record_is_what_the_page_renders(good_only):
    repo = good_only
    records.make("good", root=repo, records=repo / "records")
    assert runner.run_chapter("good", root=repo, build=repo / "_build").ok
    src = site.stage(repo, repo / "_build", repo / "records")
    notebook = nbformat.read(src / "book" / "good.ipynb", as_version=4)
    assert notebook.cells[-1].outputs == nbformat.read(repo / "records" / "good" / "notebook.ipynb",
                                                       as_version=4).cells[-1].outputs
    assert not [c for c in notebook.cells if "profile-note" in c.metadata.get("tags", [])]
    links = [c.source for c in notebook.cells if "downloads" in c.metadata.get("tags", [])]
    assert len(links) == 1 and "<downloads/good/provenance.json>`" in links[0] and "(CSV)" in links[0]
    downloads = src / "book" / "downloads" / "good"
    assert (downloads / "results.json").read_bytes() == (repo / "records" / "good" / "results.json").read_bytes()
    rows = (downloads / "measurements.csv").read_text().splitlines()
    assert rows[0] == "measurement,what,mean,low,high,n,unit,over" and len(rows) >= 1


def test_a_prose_edit_keeps_the_record_current_and_shows_on_the_page(good_only):
    repo = good_only
    records.make("good", root=repo, records=repo / "records")
    page = repo / "book" / "good.md"
    page.write_text(page.read_text().replace("# good\n", "# good\n\nA sentence written after the record.\n"))
    assert records.status("good", repo, repo / "records")[0] == "current"
    assert runner.run_chapter("good", root=repo, build=repo / "_build").ok
    src = site.stage(repo, repo / "_build", repo / "records")
    notebook = nbformat.read(src / "book" / "good.ipynb", as_version=4)
    assert any("written after the record" in c.source for c in notebook.cells if c.cell_type == "markdown")
    assert notebook.cells[-1].outputs == nbformat.read(repo / "records" / "good" / "notebook.ipynb",
                                                       as_version=4).cells[-1].outputs


def test_the_published_records_are_valid_small_and_their_state_is_reported():
    assert records.folder_bytes(paths.RECORDS) <= records.MAX_FOLDER_BYTES
    for name, page in runner.notebooks().items():
        if runner.meta(page).get("summary"):
            continue
        state, record = records.status(name)
        print(f"record of {name}: {state}")
        if state == "current":  # a stale record is not shown; it waits to be re-made
            assert records.check(record) == [], name
            model = json.loads((records.record_dir(name) / "results.json").read_text())["environment"]["model"]
            assert model["sha256"] and model["safetensors_sha256"], f"{name}'s record lacks a model hash"
        if record is not None:
            assert records.folder_bytes(records.record_dir(name)) <= records.MAX_RECORD_BYTES
            assert json.loads((records.record_dir(name) / "results.json").read_text())["chapter"] == name


def test_the_published_records_are_not_ignored_by_git(tmp_path):
    """A record git ignores exists on the machine that made it and nowhere else (a clean checkout lacks it)."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / ".gitignore").write_text((paths.ROOT / ".gitignore").read_text())
    files = [str(p.relative_to(paths.ROOT)) for p in sorted(paths.RECORDS.rglob("*")) if p.is_file()]
    assert files
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *files], cwd=tmp_path,
                             capture_output=True, text=True).stdout.split()
    assert ignored == []
