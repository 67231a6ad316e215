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


def test_no_e_notation_and_no_negative_zero():
    assert numbers.scientific(1.73e-15) == "1.7 × 10⁻¹⁵" and numbers.scientific(3e-3, 1) == "3 × 10⁻³"
    assert numbers.scientific(2.5e12) == "2.5 × 10¹²" and numbers.scientific(0.0) == "0"
    assert numbers.value(6.5e-07) == "6.5 × 10⁻⁷" and numbers.value(3.43e-05) == "3.43 × 10⁻⁵"
    assert numbers.value(-0.0001, 2) == "0.00" and numbers.value(-0.04) == "-0.04"
    assert numbers.percent(-0.001) == "0%" and numbers.value(12345.6) == "12,346"
    assert numbers.interval({"mean": 2e-7, "low": 1e-7, "high": 3e-7}) == \
        "2 × 10⁻⁷ (95% CI 1 × 10⁻⁷ to 3 × 10⁻⁷)"
