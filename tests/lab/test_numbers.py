import math

from deepenough.lab import numbers


def test_counts_have_separators_and_infinity_is_never_reached():
    assert numbers.count(132416) == "132,416"
    assert numbers.value(float("inf")) == "never reached"
    assert numbers.value(10.0) == "10"
    assert numbers.value(math.nan) == "not measured"


def test_an_interval_is_printed_to_the_precision_its_width_supports():
    assert numbers.interval({"mean": 0.4213, "low": 0.38, "high": 0.47}, over="seeds") == \
        "0.42 (95% CI 0.38 to 0.47 over seeds)"
    assert numbers.interval({"mean": 12.3, "low": 2.0, "high": 40.0}) == "12 (95% CI 2 to 40)"


def test_an_exact_value_is_said_as_exact():
    assert numbers.interval({"mean": 1.0, "low": 1.0, "high": 1.0}, over="exact") == "1 (exact)"


def test_shares_lists_and_fractions_read_as_prose():
    assert numbers.percent(0.423) == "42%"
    assert numbers.percent_interval({"mean": 0.5, "low": 0.38, "high": 0.62}, "prompts") == \
        "50% (95% CI 38% to 62% over prompts)"
    assert numbers.percent_interval({"mean": 1.0, "low": 1.0, "high": 1.0}) == "100%"
    assert numbers.listing([8, 32, 96]) == "8, 32 and 96" and numbers.listing(["a"]) == "a"
    assert numbers.listing(["a", "b"]) == "a and b"
    assert numbers.fraction(0, 9) == "none of 9" and numbers.fraction(15, 15) == "every one of 15"
    assert numbers.fraction(3, 1500) == "3 of 1,500"
    assert numbers.plural(1, "seed") == "1 seed" and numbers.plural(3, "seed") == "3 seeds"
