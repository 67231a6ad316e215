"""Verdicts that could have come out otherwise (issue #24): every outcome of every decision table reachable
at the full profile's own sample size, in a world where it is the truth; every published interval over
independent units and inside its bounds; every trained model's positive control recorded."""
import importlib

import pytest

from deepenough.machinery import records, results, runner
from deepenough.machinery.power import POWER_MIN, Table, unreachable
from deepenough.machinery.rules import Ruling, check

CHAPTERS = {name: runner.meta(page) for name, page in runner.notebooks().items()
            if runner.meta(page).get("claims")}
TRAINS = {"serial_depth", "depth_width", "forgetting", "jokes", "information_lost"}


@pytest.mark.slow  # simulates the decision table's power (seconds)
@pytest.mark.parametrize("name", list(CHAPTERS))
def test_every_outcome_is_reachable_at_the_full_profiles_own_n(name):
    module = importlib.import_module(f"deepenough.chapters.{name}")
    tables = module.TABLES
    assert set(tables) >= set(CHAPTERS[name]["claims"])
    for claim, table in tables.items():
        assert isinstance(table, Table) and {"quick", "full"} <= set(table.designs)
        weak = unreachable(table.power("full"))
        assert not weak, f"{claim}: under full, {weak} reach power < {POWER_MIN} in their own worlds"


@pytest.mark.parametrize("name", list(CHAPTERS))
def test_every_rule_row_states_one_condition(name):
    """A reason names the row that fired: a row whose condition is an "or" of several would not say which held."""
    module = importlib.import_module(f"deepenough.chapters.{name}")
    for claim, table in module.TABLES.items():
        for number, rule in enumerate(table.rules):
            assert " or " not in rule.when, f"{claim} row {number}: split it into one row per condition: {rule.when}"


@pytest.mark.parametrize("name", list(CHAPTERS))
def test_the_published_record_carries_power_learned_and_fresh_seeds(name):
    state, record = records.status(name)
    assert state == "current", f"the record of {name} is {state}"
    data = record["results"]
    for v in data["verdicts"]:
        assert v.get("power") and not unreachable(v["power"]), (v["claim"], v.get("power"))
        assert v.get("confirmation"), v["claim"]
    if name in TRAINS:
        assert data.get("models"), "every trained model's positive control is recorded"
    assert record["provenance"]["confirmation"]


@pytest.mark.parametrize("name", list(CHAPTERS))
def test_the_published_record_ran_within_an_hour_and_near_its_full_budget(name):
    """A record's wall time (one run, beside other work: an upper bound) is what the page's full budget promises."""
    _, record = records.status(name)
    seconds, budget = record["provenance"]["wall_time_s"], CHAPTERS[name]["budget_s"]["full"]
    assert seconds <= 3600, f"{name}: the record took {seconds:.0f} s, over the 60 minutes a full run may take"
    assert seconds <= runner.BUDGET_SLACK * budget, f"{name}: the record took {seconds:.0f} s; its budget: {budget} s"


def published():
    found = []
    for name in CHAPTERS:
        state, record = records.status(name)
        if state == "current":
            found += [(name, key, m) for key, m in record["results"]["measurements"].items()]
    return found


@pytest.mark.parametrize("name,key,m", published())
def test_every_published_interval_is_over_independent_units_and_inside_its_bounds(name, key, m):
    assert m["low"] <= m["mean"] <= m["high"]
    assert m["over"] and m["n"] >= 1
    limits = results.bounds_of(m["unit"])
    if limits:
        assert limits[0] <= m["low"] and m["high"] <= limits[1], f"{name}: {key} leaves {limits}"


def decided_again(name: str, data: dict) -> None:
    """Every verdict in ``data`` is what its chapter's table decides from the values it records: a verdict
    edited by hand, or written without ``decide``, fails here."""
    tables = importlib.import_module(f"deepenough.chapters.{name}").TABLES
    for v in data["verdicts"]:
        decided = v.get("decided", v["verdict"])
        check(tables[v["claim"]].rules, Ruling(decided, v["reason"], v["rule"], v.get("why", ""), v.get("values"),
                                               v.get("row", -1)))


@pytest.mark.parametrize("name", list(CHAPTERS))
def test_every_published_verdict_is_what_its_table_decides_from_the_recorded_values(name):
    state, record = records.status(name)
    assert state == "current", f"the record of {name} is {state}"
    decided_again(name, record["results"])


@pytest.mark.book
@pytest.mark.parametrize("name", list(CHAPTERS))
def test_every_quick_verdict_is_what_its_table_decides_from_the_recorded_values(chapter_outcomes, name):
    outcome = chapter_outcomes[name]
    decided_again(name, results.read_all(outcome.results.parent)[name])
