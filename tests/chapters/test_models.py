"""Unit tests of the models page's sentences (deepenough/chapters/models.py)."""
import pytest

from deepenough.chapters import models


def test_seeds_counts_in_words():
    assert models.seeds(3, 3) == "every one of 3 seeds"
    assert models.seeds(0, 8) == "none of 8 seeds"
    assert models.seeds(2, 3) == "2 of 3 seeds"
    assert models.seeds(1, 1) == "the only seed"
    assert models.seeds(0, 1) == "no seed"


@pytest.mark.parametrize("accuracies, expected", [
    ([1.0, 0.95, 0.99], "Every one of 3 seeds passed 90% held-out accuracy within 300 steps."),
    ([1.0, 0.5, 0.99], "2 of 3 seeds passed 90% held-out accuracy within 300 steps."),
    ([0.1, 0.5, 0.2], "None of 3 seeds passed 90% held-out accuracy within 300 steps."),
])
def test_learned_sentence(accuracies, expected):
    assert models.learned_sentence(accuracies, 300) == expected


def test_learned_sentence_separates_thousands():
    assert models.learned_sentence([1.0, 1.0, 1.0], 1000).endswith("within 1,000 steps.")


def test_accuracy_clause_says_exact_results_as_exact():
    assert models.accuracy_clause([1.0, 1.0, 1.0]) == "every one of 3 seeds copies every held-out token"
    assert models.accuracy_clause([1.0]) == "the only seed copies every held-out token"
    assert models.accuracy_clause([0.5, 0.5, 0.5]) == "held-out accuracy is 50% in every one of 3 seeds"
    assert models.accuracy_clause([0.996] * 3) == "held-out accuracy is 99.6% in every one of 3 seeds"


def test_accuracy_clause_gives_a_bounded_interval_otherwise():
    text = models.accuracy_clause([1.0, 1.0, 0.7])
    assert text.startswith("held-out accuracy is 90% (95% CI ") and text.endswith(" to 100% over seeds)")
    assert "100.0%" not in text and "inf" not in text


@pytest.mark.parametrize("accuracies, opening", [
    ([1.0, 0.95, 0.99], "Copying is forgiving, and every seed learned it here. Other tasks are less so: "),
    ([1.0, 0.5, 0.99], "Even on this easy task only 2 of 3 seeds learned it: "),
    ([0.1, 0.5, 0.2], "No seed learned it in this budget: "),
])
def test_seed_lesson_follows_the_seeds(accuracies, opening):
    lesson = models.seed_lesson(accuracies)
    assert lesson.startswith(opening) and lesson.endswith("rather than one run.")


def test_share_order_sorts_and_floors_tiny_shares():
    shares = {"embedding": 0.21, "attention": 0.20, "feed-forward": 0.59, "RMSNorm": 0.0003}
    assert models.share_order(shares) == "feed-forward 59%, embedding 21%, attention 20% and RMSNorm under 1%"
