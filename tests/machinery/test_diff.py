"""``deepenough diff``: verdicts that changed, and whether their rule or their data did."""
from deepenough.lab import stats
from deepenough.machinery import diff, results
from deepenough.machinery.rules import Rule, always, decide

LINE = 0.5
TABLE = (Rule("supported", f"the gap is above {LINE}", lambda v: v["gap"] > LINE),
         Rule("refuted", "otherwise", always))
STRICTER = (Rule("supported", f"the gap is above {2 * LINE}", lambda v: v["gap"] > 2 * LINE),
            Rule("refuted", "otherwise", always))


def write(directory, table, gap):
    run = results.ChapterRun("kv_cache", "quick", 0, directory)
    ruling = decide(table, {"gap": gap})
    run.write([results.verdict("C1", ruling, key="gap")],
              {"gap": results.measurement(stats.mean_ci([gap - 0.01, gap, gap + 0.01]), what="the gap", over="seeds")},
              [0, 1, 2])


def test_no_change_says_so(tmp_path):
    write(tmp_path / "a", TABLE, 0.8)
    write(tmp_path / "b", TABLE, 0.8)
    assert diff.diff(tmp_path / "a", tmp_path / "b") == ["no verdict or key number changed"]


def test_a_verdict_moved_by_the_data_says_so(tmp_path):
    write(tmp_path / "a", TABLE, 0.8)
    write(tmp_path / "b", TABLE, 0.2)
    lines = diff.diff(tmp_path / "a", tmp_path / "b")
    assert "C1 (kv_cache): verdict supported -> refuted: its data changed (same rule)" in lines
    assert any(line.startswith("C1 (kv_cache): the gap: 0.8") and "-> 0.2" in line for line in lines)


def test_a_verdict_moved_by_the_rule_says_so(tmp_path):
    write(tmp_path / "a", TABLE, 0.8)
    write(tmp_path / "b", STRICTER, 0.8)
    lines = diff.diff(tmp_path / "a", tmp_path / "b")
    assert lines == ["C1 (kv_cache): verdict supported -> refuted: its rule changed"]


def test_a_changed_rule_with_the_same_verdict_is_reported(tmp_path):
    write(tmp_path / "a", TABLE, 1.5)
    write(tmp_path / "b", STRICTER, 1.5)
    lines = diff.diff(tmp_path / "a", tmp_path / "b")
    assert lines == ["C1 (kv_cache): same verdict (supported), but its rule changed"]
