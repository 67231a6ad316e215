
import pytest

from deepenough.lab import stats
from deepenough.machinery import ledger, paths, results


def test_registry_numbers_its_claims_from_c1_without_gaps_each_with_its_quote():
    registry = ledger.claims()  # a contributor's new claim (C11, C12, …) extends it; none may be skipped
    assert list(registry) == [f"C{i}" for i in range(1, len(registry) + 1)] and len(registry) >= 10
    assert all(c["quote"] and c["who"] and c["claim"] for c in registry.values())


def test_registry_quotes_are_exact_when_the_debate_is_at_hand():
    debate = paths.DEBATE
    if not debate.exists():
        pytest.skip("the debate text is not beside this checkout")
    text = " ".join(p.read_text() for p in debate.glob("*.txt"))
    for cid, claim in ledger.claims().items():
        for quote in (claim["quote"], claim["counter"], claim.get("untestable", {}).get("quote", "")):
            assert quote in text, f"{cid}: {quote!r} is not a verbatim quote of the debate"


def write_c1(directory, verdict="nuanced"):
    run = results.ChapterRun("kv_cache", "quick", 0, directory)
    ruling = results.Ruling(verdict, "agrees in theory, not in practice", "0123456789ab", "the forks sit at near-ties")
    run.write([results.verdict("C1", ruling, key="gap")],
              {"gap": results.measurement(stats.mean_ci([1e-12, 2e-12, 3e-12]), what="max gap", over="seeds")},
              [0, 1, 2])
    return results.read_all(directory)


def test_untested_claims_show_not_yet_tested_and_tested_ones_their_card(tmp_path):
    rows = {r["label"]: r for r in ledger.ledger_rows(ledger.claims(), write_c1(tmp_path))}
    assert rows["C1"]["verdict"] == "nuanced" and rows["C1"]["chapter"] == "kv_cache"
    assert rows["C1"]["why"] == "the forks sit at near-ties"
    assert "max gap: 2 × 10⁻¹² (95% CI" in rows["C1"]["key"] and "over seeds" in rows["C1"]["key"]
    assert all(r["verdict"] == ledger.NOT_YET for label, r in rows.items() if label != "C1" and not r.get("untestable"))
    page = ledger.ledger_markdown(list(rows.values()))
    assert page.count(":::{grid-item-card}") == len(rows) and "{bdg-warning}`nuanced` × 1" in page
    assert "{ref}`the rule <kv_cache-rule>`" in page and "```{dropdown} The full reason" in page
    assert "the quick run, seeds 0, 1, 2, " in page and "; no full record yet." in page


def test_the_ledger_shows_the_run_the_page_shows_and_what_the_other_run_reads(tmp_path):
    quick = write_c1(tmp_path / "quick")
    record = {"results": write_c1(tmp_path / "full", "supported")["kv_cache"], "state": "stale"}
    rows = {r["label"]: r for r in ledger.ledger_rows(ledger.claims(), quick, {"kv_cache": record})}
    card = ledger.card_markdown(rows["C1"])
    assert rows["C1"]["verdict"] == "nuanced", "a stale record is not shown, so the quick verdict is"
    assert "the quick run, seeds 0, 1, 2" in card and "stale (the code changed since), and read " \
        "{bdg-success}`supported`" in card
    current = {"kv_cache": {**record, "state": "current"}}
    rows = {r["label"]: r for r in ledger.ledger_rows(ledger.claims(), quick, current)}
    assert rows["C1"]["verdict"] == "supported", "a current record is what the page shows, so the ledger shows it"
    assert "the quick run reads {bdg-warning}`nuanced`" in ledger.card_markdown(rows["C1"])


def test_a_claim_with_an_untestable_part_gets_two_rows_each_with_its_own_badge(tmp_path):
    run = results.ChapterRun("depth_width", "quick", 0, tmp_path)
    ruling = results.Ruling("inconclusive", "no route learned", "0123456789ab", "no route learned")
    run.write([results.verdict("C10", ruling)], {}, [0, 1, 2])
    rows = {r["label"]: r for r in ledger.ledger_rows(ledger.claims(), results.read_all(tmp_path))}
    assert rows["C10 cost"]["verdict"] == "inconclusive" and "cost" in rows["C10 cost"]["claim"]
    assert rows["C10 forecast"]["verdict"] == "not testable here" and "plateau" in rows["C10 forecast"]["claim"]
    assert "plateau" not in rows["C10 cost"]["claim"], "the tested part's badge is for that part only"
    card = ledger.card_markdown(rows["C10 forecast"])
    assert "**C10 forecast** {bdg-info}`not testable here`" in card and "{doc}`Chapter <depth_width>`" in card
    table = ledger.claims_table_markdown(list(rows.values()))
    assert "| **C10 forecast** |" in table and "{bdg-info}`not testable here`" in table


def test_the_verdict_box_names_claim_badge_why_profile_and_the_rule(tmp_path):
    box = ledger.glance_markdown(write_c1(tmp_path)["kv_cache"])
    assert box.startswith("```{admonition} The verdict at a glance")
    assert "**C1** {bdg-warning}`nuanced` The KV cache is only an optimization" in box
    assert "the forks sit at near-ties ({ref}`the rule <kv_cache-rule>`)" in box
    assert "*Quick profile, seeds 0, 1, 2," in box


def test_every_verdict_has_a_badge():
    from deepenough.machinery.rules import VERDICTS

    assert all(v in ledger.BADGE for v in VERDICTS)
