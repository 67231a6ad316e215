"""The verdict history, from a throwaway git repository with three record commits."""
import json
import subprocess

from deepenough.machinery import history


def commit_record(repo, verdict, rule, message):
    path = repo / "records" / "toy" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"message": message, "verdicts": [{"claim": "C1", "verdict": verdict, "rule": rule}]}))
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], cwd=repo, check=True)


def test_history_lists_each_change_of_verdict_or_table_once(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    commit_record(tmp_path, "supported", "aaa", "first record")
    commit_record(tmp_path, "supported", "aaa", "same verdict, same table")
    commit_record(tmp_path, "inconclusive", "bbb", "the rule changed")
    (tmp_path / "other.txt").write_text("not a record")
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"], cwd=tmp_path, check=True)
    found = history.verdict_history(tmp_path)
    assert [(e["verdict"], e["rule"]) for e in found["C1"]] == [("supported", "aaa"), ("inconclusive", "bbb")]
    table = history.history_markdown(tmp_path)
    assert table.count("| C1 |") == 1 and "{bdg-success}`supported`" in table and "`bbb`" in table


def test_a_copy_without_git_history_says_so(tmp_path):
    assert "No verdict history here" in history.history_markdown(tmp_path)
