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
