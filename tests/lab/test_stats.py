import numpy as np
import pytest

from deepenough.lab import stats


def test_mean_ci_matches_t_interval():
    ci = stats.mean_ci([1.0, 2.0, 3.0])
    assert ci["mean"] == 2.0 and ci["n"] == 3
    # t(0.975, 2) = 4.303, sem = 1/sqrt(3)
    assert ci["high"] - 2.0 == pytest.approx(4.3027 / np.sqrt(3), rel=1e-3)
    assert ci["low"] == pytest.approx(4.0 - ci["high"])


def test_mean_ci_single_or_constant_values_has_zero_width():
    assert stats.mean_ci([0.5]) == {"mean": 0.5, "low": 0.5, "high": 0.5, "n": 1}
    assert stats.mean_ci([1.0, 1.0, 1.0])["high"] == 1.0


def test_mean_ci_refuses_two_values():
    with pytest.raises(ValueError, match="three or more"):
        stats.mean_ci([0.2, 0.4])


def test_proportion_ci_stays_in_unit_interval_and_is_not_degenerate_at_extremes():
    zero, full = stats.proportion_ci(0, 20), stats.proportion_ci(20, 20)
    assert zero["low"] == 0 and 0.1 < zero["high"] < 0.2
    assert full["high"] == pytest.approx(1.0) and 0.8 < full["low"] < 0.9


def test_bootstrap_ci_brackets_the_statistic():
    values = np.random.default_rng(0).normal(5, 1, 200)
    ci = stats.bootstrap_ci(values, np.median)
    assert ci["low"] < ci["mean"] < ci["high"] and 4.7 < ci["mean"] < 5.3


def test_mean_ci_clips_to_bounds():
    ci = stats.mean_ci([0.9, 0.95, 1.0], bounds=(0, 1))
    assert ci["high"] == 1.0 and ci["low"] >= 0.0 and ci["mean"] == pytest.approx(0.95)
