from pathlib import Path

import pytest

from deepenough.machinery import ledger, paths, results
from deepenough.lab import stats


def test_registry_lists_c1_to_c10_with_quotes():
    registry = ledger.claims()
    assert list(registry) == [f"C{i}" for i in range(1, 11)]
    assert all(c["quote"] and c["who"] and c["claim"] for c in registry.values())


def test_registry_quotes_are_exact_when_the_debate_is_at_hand():
    debate = paths.DEBATE
    if not debate.exists():
        pytest.skip("the debate text is not beside this checkout")
    text = " ".join(p.read_text() for p in debate.glob("*.txt"))
    for cid, claim in ledger.claims().items():
        for quote in (claim["quote"], claim["counter"]):
            assert quote in text, f"{cid}: {quote!r} is not a verbatim quote of the debate"


def test_untested_claims_show_not_yet_tested_and_tested_ones_their_number(tmp_path):
    run = results.ChapterRun("kv_cache", "quick", 0, tmp_path)
    run.write([results.verdict("C1", results.Ruling("nuanced", "agrees in theory, not in practice"), key="gap")],
              {"gap": results.measurement(stats.mean_ci([1e-12, 3e-12]), unit="", what="max gap")}, [0, 1])
    rows = {r["id"]: r for r in ledger.ledger_rows(ledger.claims(), results.read_all(tmp_path))}
    assert rows["C1"]["verdict"] == "nuanced" and rows["C1"]["chapter"] == "kv_cache"
    assert "max gap: 2e-12" in rows["C1"]["key"]
    assert all(rows[f"C{i}"]["verdict"] == ledger.NOT_YET for i in range(2, 11))
    table = ledger.ledger_markdown(list(rows.values()))
    assert table.count("\n") == 11 and "{doc}`kv_cache` (quick)" in table

