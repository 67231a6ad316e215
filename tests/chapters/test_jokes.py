"""Unit tests for deepenough.jokes: the census tools, the pun world, and the verdict logic."""
import numpy as np
import pytest
import torch

from deepenough.chapters import jokes
from deepenough.lab import train
from deepenough.machinery import paths, power, results, rules


@pytest.mark.parametrize("text, expected", [
    ("Why don't scientists trust atoms? Because they make up everything!", "why question + answer"),
    ("Sure! Why did the scarecrow win an award? Because he was outstanding in his field.", "why question + answer"),
    ("What do you call a fake noodle? An impasta.", "what do you call"),
    ("Knock, knock. Who's there? Lettuce. Lettuce who? Lettuce in!", "knock-knock"),
    ("How does a penguin build its house? Igloos it together.", "other question + answer"),
    ("Why did the sky magically change?", "question without answer"),
    ("I'm reading a book about anti-gravity. It's impossible to put down.", "one-liner"),
    ("I'm sorry, I can't tell jokes.", "not a joke"),
    ("Haha.", "not a joke"),
    ("Theme: Define the main character. Offer a joke. Provide a humorous twist. Johnny got a reason. "
     "Giada is here. The bloke is there.", "not a joke"),
])
def test_classify_format_on_hand_written_examples(text, expected):
    assert jokes.classify_format(text) == expected


def test_every_classification_is_a_declared_format():
    for text in ["", "?", "a b c d?", "Why? Because.", "knock knock"]:
        assert jokes.classify_format(text) in jokes.FORMATS


def test_overlap_ignores_case_punctuation_and_chatter():
    joke = "Why don't scientists trust atoms? Because they make up everything."
    wrapped = "Here's one: WHY DONT scientists trust atoms... because they make up everything!! Hope you laugh."
    assert jokes.overlap(joke, wrapped) == pytest.approx(1.0)
    assert jokes.overlap(joke, "What do you call a fake noodle? An impasta.") < jokes.NEAR_DUPLICATE_OVERLAP


def test_short_texts_match_only_when_identical():
    assert jokes.overlap("Ha ha", "ha, ha!") == 1.0
    assert jokes.overlap("Ha ha", "ho ho") == 0.0


def test_grouping_is_transitive_and_numbered_by_first_appearance():
    a = "Why did the tomato turn red? Because it saw the salad dressing."
    b = "why did the tomato turn red because it saw the salad dressing lol"
    c = "What do you call a bear with no teeth? A gummy bear."
    assert jokes.group_near_duplicates([c, a, b, c]) == [0, 1, 1, 0]
    with pytest.raises(ValueError):
        jokes.group_near_duplicates([a, b], linkage="ward")


def test_census_counts_top_groups_known_jokes_and_formats():
    atoms = "Why don't scientists trust atoms? Because they make up everything."
    texts = [atoms] * 3 + ["Why did the sky magically change?", "I'm sorry, I cannot."]
    result = jokes.census(texts, known=[atoms])
    assert result["distinct"] == 3 and result["group_sizes"] == [3, 1, 1]
    assert result["top_groups_share"] == 1.0  # fewer than 25 groups: all of them are "top"
    assert result["known"] == 3
    assert result["top_format_share"] == pytest.approx(0.6)
    assert result["joke_format_share"] == pytest.approx(0.6)


def test_known_joke_reference_is_offline_and_non_empty():
    known = jokes.known_jokes()
    assert len(known["pyjokes neutral"]) > 100 and len(known["classic"]) >= 20
    assert jokes.matches_known("Ha! Why did the scarecrow win an award? He was outstanding in his field.",
                               known["classic"])


def test_pun_world_gives_every_setup_one_punchline_and_holds_out_one_setup_of_a_third_of_words():
    world = jokes.make_world(seed=0)
    assert len(world.senses) == jokes.WORDS
    trained, new = world.setups(new=False), world.setups(new=True)
    setups = [(a, b) for a, b, _ in trained + new]
    assert len(setups) == len(set(setups)) == 6 * jokes.WORDS  # three pairs per word, both orders, none shared
    assert len(new) == 2 * (jokes.WORDS // 3)
    for a, b, w in new:
        assert {a, b} <= set(world.senses[w])
        assert w in {word for _, _, word in trained}  # a new joke's punchline was a trained answer


def test_scratchpad_checks_the_words_of_the_first_setup_until_one_holds_the_second():
    world = jokes.PunWorld(senses=((0, 1, 2), (0, 3, 4), (0, 5, 6)), held_out=frozenset())
    ids, targets = jokes.encode(world, [(0, 3, 1)], think=True)
    w0, w1 = jokes.SENSES, jokes.SENSES + 1
    assert ids[0].tolist() == [jokes.ASK, 0, 3, jokes.THINK, w0, 1, 2, jokes.NO, w1, 3, 4, jokes.YES, jokes.ANSWER, w1]
    assert targets[0].tolist() == [train.IGNORE] * 3 + ids[0, 4:].tolist() + [train.IGNORE]  # next token, from THINK on
    direct, direct_targets = jokes.encode(world, [(0, 3, 1)], think=False)
    assert direct[0].tolist() == [jokes.ASK, 0, 3, jokes.ANSWER, w1]
    assert direct_targets[0].tolist() == [train.IGNORE] * 3 + [w1, train.IGNORE]


def test_one_link_baseline_is_one_over_the_words_holding_the_first_setup():
    world = jokes.PunWorld(senses=((0, 1, 2), (0, 3, 4), (1, 3, 5)), held_out=frozenset())
    assert jokes.one_link_baseline(world, [(0, 1, 0), (2, 0, 0)]) == pytest.approx((1 / 2 + 1) / 2)


def test_a_model_that_copies_the_scratchpad_is_scored_right_and_counted_by_tokens():
    world = jokes.make_world(seed=1)
    setups = world.setups(new=True)
    ids, _ = jokes.encode(world, setups, think=True)

    class Oracle(torch.nn.Module):  # predicts the next token of the true scratchpad
        def forward(self, x):
            out = torch.full((*x.shape, jokes.VOCAB), -1e9)
            nxt = torch.cat([ids, torch.full((len(ids), 1), jokes.PAD)], 1)[:, 1:x.shape[1] + 1]
            return out.scatter(2, nxt[..., None], 0.0)

    result = jokes.answer_with_scratchpad(Oracle(), world, setups)
    assert result["accuracy"] == 1.0
    lengths = [len(jokes.scratchpad(world, a, b)) + 2 for a, b, _ in setups]
    assert result["tokens"] == pytest.approx(sum(lengths) / len(lengths))


def test_best_of_n_is_exact_and_monotone():
    p = torch.tensor([0.0, 0.5, 1.0])
    assert jokes.best_of_n(p, 1) == pytest.approx(0.5)
    assert jokes.best_of_n(p, 2) == pytest.approx((0 + 0.75 + 1) / 3)
    assert jokes.best_of_n(p, 8) > jokes.best_of_n(p, 4)


def test_the_judged_best_of_n_matches_a_simulated_judge_with_its_measured_error_rate():
    p, n, error = torch.tensor([0.05, 0.3, 0.8]), 6, 0.1
    assert jokes.best_of_n_judged(p, n, 0.0) == pytest.approx(jokes.best_of_n(p, n))
    gen = torch.Generator().manual_seed(0)
    trials = 200_000
    right = torch.rand(trials, 3, n, generator=gen) < p[:, None]
    wrong_call = torch.rand(trials, 3, n, generator=gen) < error
    accepted = right ^ wrong_call                       # the judge flips its call with probability `error`
    assert wrong_call.float().mean().item() == pytest.approx(error, abs=0.002)  # the judge's error rate
    first = accepted.float().argmax(-1, keepdim=True)   # the first accepted sample is the answer
    success = accepted.any(-1) & right.gather(-1, first).squeeze(-1)
    assert success.float().mean().item() == pytest.approx(jokes.best_of_n_judged(p, n, error), abs=0.003)
    assert jokes.best_of_n_judged(p, n, error) < jokes.best_of_n(p, n)  # an error-prone judge makes luck weaker
    assert jokes.best_of_n_judged(torch.tensor([0.0]), 4, 0.0) == 0.0


def test_luck_at_equal_compute_uses_the_affordable_number_of_samples():
    shallow = {"flops": 100.0, "p_correct": torch.tensor([0.5])}
    assert jokes.luck_at_equal_compute({"flops": 399.0}, shallow) == pytest.approx(1 - 0.5 ** 3)
    assert jokes.luck_at_equal_compute({"flops": 50.0}, shallow) == pytest.approx(0.5)
    assert jokes.affordable_samples({"flops": 399.0}, shallow) == 3
    assert jokes.affordable_samples({"flops": 50.0}, shallow) == 1


def test_routes_share_a_width_and_the_looped_block_counts_its_passes():
    models = jokes.route_models(seed=0, d_model=16, loops=3, depths=(1, 2))
    looped, one = models["1 block × 3 loops"], models["depth 1"]
    assert sum(p.numel() for p in looped.parameters()) == sum(p.numel() for p in one.parameters())
    assert jokes.flops_per_answer(looped, 1) > 2.5 * jokes.flops_per_answer(one, 1)
    assert jokes.flops_per_answer(one, 8) > 8 * jokes.flops_per_answer(one, 1)  # longer context per token


def p(mean, half=0.05):
    return {"mean": mean, "low": max(0.0, mean - half), "high": min(1.0, mean + half), "n": 100}


@pytest.mark.parametrize("shares, case", [
    ((p(0.92), p(0.95), p(0.99)), "memorised jokes"),
    ((p(0.30), p(0.80), p(0.30)), "not clever"),
    ((p(0.30), p(0.70), p(0.90)), "memorised formats"),
    ((p(0.30), p(0.40), p(0.90)), "none of the three"),
    ((p(0.50), p(0.40), p(0.90)), "undecided"),  # retold share straddles the bar
])
def test_census_case(shares, case):
    assert jokes.census_case(*shares) == case


def test_census_reading_needs_every_temperature():
    assert jokes.census_reading(["memorised jokes", "not clever"]) == "author"
    assert jokes.census_reading(["none of the three"] * 2) == "against"
    assert jokes.census_reading(["memorised jokes", "none of the three"]) == "undecided"
    assert jokes.census_reading(["undecided", "memorised jokes"]) == "undecided"


def test_serial_reading():
    t = jokes.SERIAL_ADVANTAGE
    assert jokes.serial_reading({"mean": 0.3, "low": t, "high": 0.5}, True) == "wins"
    assert jokes.serial_reading({"mean": 0.0, "low": -0.1, "high": t - 0.01}, True) == "loses"
    assert jokes.serial_reading({"mean": 0.1, "low": 0.0, "high": 0.3}, True) == "undecided"
    assert jokes.serial_reading({"mean": 0.3, "low": 0.2, "high": 0.5}, False) == "uninformative"


TABLE = jokes.TABLES["C9"]


def drawn(profile="full", memorised=True, learned=True, **serial):
    return jokes.world(memorised, **(serial or jokes.WINS), learned=learned)(np.random.default_rng(0),
                                                                             TABLE.designs[profile])


def test_the_settings_are_the_design_the_power_analysis_draws():
    for profile, settings in jokes.SETTINGS.items():
        design = TABLE.designs[profile]
        assert design["seeds"] == settings["seeds"]
        assert dict(zip(design["temperatures"], design["samples"])) == dict(zip(settings["temperatures"],
                                                                                 settings["samples"]))
    assert design["new_setups"] == len(jokes.make_world(0).setups(new=True))
    assert "SETTINGS = jokes.SETTINGS[profile]" in (paths.BOOK / "jokes.md").read_text()


@pytest.mark.slow  # simulates the decision table's power (seconds)
def test_every_c9_outcome_has_a_world_and_full_reaches_each():
    assert set(rules.outcomes(jokes.C9_RULES)) == {"supported", "refuted", "nuanced", "inconclusive"}
    assert not power.unreachable(TABLE.power("full"))


@pytest.mark.parametrize("memorised, serial, expected", [
    (True, jokes.WINS, "supported"), (False, jokes.LOSES, "refuted"), (True, jokes.LOSES, "nuanced"),
])
def test_c9_outcomes_from_raw_samples_and_seeds(memorised, serial, expected):
    ruling = TABLE.decide(drawn(memorised=memorised, **serial), "full")
    assert ruling.verdict == expected and ruling.rule == rules.digest(jokes.C9_RULES)


def test_unlearned_routes_leave_the_comparison_and_an_untrained_pair_decides_inconclusive():
    raw = drawn()
    shallow_failed = [{**s, "routes": {**s["routes"], jokes.SHALLOW: {**s["routes"][jokes.SHALLOW], "learned": False}}}
                      for s in raw["seeds"]]
    assert jokes.learned_routes(shallow_failed) == ["depth 2"]
    ruling = TABLE.decide({**raw, "seeds": shallow_failed}, "full")
    assert (ruling.verdict, ruling.row) == ("inconclusive", 0) and "luck's one-layer route did not" in ruling.reason
    one_seed = [dict(s) for s in raw["seeds"]]
    one_seed[0] = {**one_seed[0], "routes": {**one_seed[0]["routes"],
                                             "depth 2": {**one_seed[0]["routes"]["depth 2"], "learned": False}}}
    ruling = TABLE.decide({**raw, "seeds": one_seed}, "full")  # learned at every seed, or not at all
    assert ruling.row == 1 and "no serial route learned" in ruling.reason


def test_a_deliberately_untrained_model_cannot_move_the_verdict_off_inconclusive():
    census = drawn()["census"]  # the census half reads as the author's case
    untrained = [jokes.train_routes(seed, steps=1, d_model=16, loops=2, depths=(1, 2)) for seed in range(3)]  # one step
    seeds = [jokes.seed_raw(r) for r in untrained]
    assert not any(r[name]["control"]["learned"] for r in untrained for name in r if name != "baseline")
    lucky = [{**s, "routes": {name: {**route, "accuracy": 1.0} for name, route in s["routes"].items()}}
             for s in seeds]  # even perfect scores on new setups do not count from models that never learned
    for found in (seeds, lucky):
        ruling = TABLE.decide({"census": census, "seeds": found}, "quick")
        assert (ruling.verdict, ruling.row) == ("inconclusive", 0)


def test_the_verdict_records_power_and_the_values_it_read(tmp_path):
    run = results.ChapterRun("jokes", "quick", 0, tmp_path)
    recorded = run.verdict(TABLE, TABLE.decide(drawn("quick"), "quick"), key="serial_advantage")
    assert set(recorded["power"]) == set(rules.outcomes(jokes.C9_RULES))
    assert recorded["values"]["learned_routes"] == [jokes.SHALLOW, "depth 2"]
    assert recorded["design"]["samples"] == jokes.SETTINGS["quick"]["samples"]


def test_census_shares_are_wilson_intervals_over_samples():
    retold, top_format, form = jokes.census_shares([0, 0, 1, 2, 2, 2], ["one-liner"] * 4 + ["not a joke"] * 2)
    assert retold["mean"] == pytest.approx(5 / 6) and retold["n"] == 6
    assert top_format["mean"] == pytest.approx(4 / 6) and form["mean"] == pytest.approx(4 / 6)
    assert 0 <= retold["low"] < retold["mean"] < retold["high"] <= 1


def test_repeated_share_counts_only_jokes_told_twice_or_more():
    assert jokes.repeated_share([1] * 50, 50) == 0.0  # all distinct, although the top 25 hold half
    assert jokes.repeated_share([30, 5, 1, 1], 37) == pytest.approx(35 / 37)


def test_beats_baseline():
    assert not jokes.beats_baseline({"mean": 0.2, "low": 0.19, "high": 0.21}, baseline=0.18)
    assert jokes.beats_baseline({"mean": 0.6, "low": 0.5, "high": 0.7}, baseline=0.2)


# --- the grouping on hand-made pairs -------------------------------------------------------------------

MATH = "Why was the math book sad? Because it had too many problems."
TOMATO = "Why did the tomato turn red? Because it saw the salad dressing."
BOTH = MATH + " " + TOMATO


def test_single_linkage_chains_two_jokes_through_a_text_that_tells_both_and_complete_does_not():
    texts = [MATH, BOTH, TOMATO]
    assert jokes.overlap(MATH, BOTH) == 1.0 and jokes.overlap(TOMATO, BOTH) == 1.0 and jokes.overlap(MATH, TOMATO) < 0.2
    single = jokes.group_near_duplicates(texts, 0.6, linkage="single")
    complete = jokes.group_near_duplicates(texts, 0.6, linkage="complete")
    assert single[0] == single[2]  # chained: two different jokes in one group
    assert complete[0] != complete[2]


def test_grouping_check_counts_precision_and_recall_on_labelled_pairs():
    wrapped = "Sure! Here's one: " + MATH + " Hope you liked it."
    pairs = [(MATH, wrapped, True), (MATH, TOMATO, False), (MATH, BOTH, False), (TOMATO, BOTH, False)]
    check = jokes.grouping_check(pairs, 0.6, "complete")
    assert check["actual"] == 1 and check["tp"] == 1 and check["recall"] == 1.0
    assert check["precision"] == check["tp"] / check["predicted"]
    chained = jokes.grouping_check(pairs, 0.6, "single")
    assert chained["precision"] < 1.0  # single linkage joins the tomato joke to the math joke


def test_grouping_clause_gives_intervals_over_the_pairs_and_says_when_precision_is_undefined():
    clause = jokes.grouping_clause({"tp": 9, "predicted": 10, "actual": 12})
    assert clause.startswith("precision 90% (95% CI") and "over the pairs it put together" in clause
    assert "recall 75% (95% CI" in clause and clause.endswith("over the same-joke pairs)")
    assert jokes.grouping_clause({"tp": 0, "predicted": 0, "actual": 5}).startswith("precision undefined")


def test_labelled_pairs_ship_with_a_datasheet_and_complete_linkage_beats_single_on_them():
    pairs = jokes.load_labelled_pairs()
    assert len(pairs) >= 60 and 0.3 < sum(same for _, _, same in pairs) / len(pairs) < 0.7
    sheet = " ".join((jokes.DATA / "LABELLED_PAIRS_DATASHEET.md").read_text().split())
    assert "labelled by the chapter's author, an AI assistant" in sheet and "by reading each pair" in sheet
    single = jokes.grouping_check(pairs, jokes.NEAR_DUPLICATE_OVERLAP, "single")
    complete = jokes.grouping_check(pairs, jokes.NEAR_DUPLICATE_OVERLAP, "complete")
    assert complete["precision"] > single["precision"]


def test_threshold_sweep_is_monotone():
    texts = [MATH, MATH + " Haha!", TOMATO, "Why did the tomato blush? It saw the salad dressing!", BOTH]
    sweep = jokes.threshold_sweep(texts, [0.2, 0.5, 0.9])
    shares = [sweep[t]["repeated_share"] for t in (0.2, 0.5, 0.9)]
    assert shares == sorted(shares, reverse=True) and shares[0] > 0


def test_sample_answers_reports_which_answers_ended_by_themselves():
    from transformers import BatchEncoding

    class Tokenizer:
        eos_token_id = pad_token_id = 2
        padding_side = "right"

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            return messages[0]["content"]

        def __call__(self, texts, return_tensors, padding):
            ids = torch.tensor([[5, 6, 7]] * len(texts))
            return BatchEncoding({"input_ids": ids, "attention_mask": torch.ones_like(ids)})

        def batch_decode(self, rows, skip_special_tokens):
            return [" ".join(str(i) for i in row.tolist() if i != 2) for row in rows]

    class Model(torch.nn.Module):
        def generate(self, input_ids, attention_mask, max_new_tokens, **kwargs):
            ended = torch.tensor([[9, 2, 2]] + [[9, 9, 9]] * (len(input_ids) - 1))
            return torch.cat([input_ids, ended[:, :max_new_tokens]], 1)

    texts, finished = jokes.sample_answers(Model(), Tokenizer(), 3, 1.0, seed=0, batch=2, max_new_tokens=3)
    assert texts == ["9", "9 9 9", "9"] and finished == [True, False, True]


# --- prose built from the results: every branch -----------------------------------------------------------

def ci(mean, low, high, n=3):
    return {"mean": mean, "low": low, "high": high, "n": n}


@pytest.mark.parametrize("mean, words", [
    (0.2, "gains most over luck"), (-0.06, "loses least"), (0.001, "is level with it")])
def test_best_route_sentence_follows_the_sign_of_the_advantage(mean, words):
    sentence = jokes.best_route_sentence("scratchpad, 1 layer", ci(mean, mean - 0.1, mean + 0.1))
    assert words in sentence and "scratchpad, 1 layer" in sentence
    assert ("gains most" in sentence) == (mean >= 0.005)


def test_memorisation_sentence_every_branch():
    trained = ci(1.0, 1.0, 1.0)
    learned = jokes.memorisation_sentence(trained, ci(0.6, 0.5, 0.7), baseline=0.2)
    assert "has learned some of what a punchline is" in learned
    memorised = jokes.memorisation_sentence(trained, ci(0.1, 0.0, 0.3), baseline=0.2)
    assert "memorising each trained setup came easier" in memorised
    neither = jokes.memorisation_sentence(ci(0.5, 0.2, 0.8), ci(0.3, 0.1, 0.5), baseline=0.2)
    assert "does not separate" in neither
    assert "100%" in memorised and "True" not in memorised


def test_concentration_sentence_compares_formats_with_jokes():
    rep, form = ci(0.1, 0.05, 0.2, 100), ci(0.6, 0.5, 0.7, 100)
    fmt = ci(0.3, 0.2, 0.4, 100)
    assert jokes.concentration_sentence("one-liner", fmt, 0.05, rep, form).startswith("Formats are more concentrated")
    assert jokes.concentration_sentence("one-liner", fmt, 0.5, rep, form).startswith("Jokes are more concentrated")
    same = jokes.concentration_sentence("one-liner", fmt, 0.3, rep, form)
    assert same.startswith("Formats are about as concentrated") and "only" not in same
    assert "60% (95% CI 50% to 70% over samples) of the samples have any joke form" in same


def test_top_groups_caveat_depends_on_the_sample_size():
    small = jokes.top_groups_caveat(40)
    assert "25 of 40 samples (62%)" in small and "upper bound" in small and "1,008" in small
    large = jokes.top_groups_caveat(1008)
    assert "25 of 1,008 samples (2%)" in large and "like beside like" in large and "upper bound" not in large
    assert "every one of 10 samples" in jokes.top_groups_caveat(10)


def test_training_caveat_calls_wide_intervals_wide_and_names_the_profile():
    wide = jokes.training_caveat("quick", 400, 130.7, 3, 20, ci(0.03, -0.34, 0.41))
    assert "quick profile" in wide and "400 steps" in wide and "131 s" in wide and "3 worlds" in wide
    assert "intervals are wide" in wide and "-0.34 to 0.41" in wide
    narrow = jokes.training_caveat("full", 1200, 600, 8, 20, ci(0.2, 0.1, 0.3))
    assert "intervals are wide" not in narrow and "full profile" in narrow and "1,200 steps" in narrow


def test_grokking_sentence_says_the_length():
    assert "not tested here" in jokes.grokking_sentence(3000) and "3,000 steps" in jokes.grokking_sentence(3000)


def test_number_phrases_read_as_words():
    assert jokes.tokens_phrase(1.0) == "1 token"
    assert jokes.tokens_phrase(23.46) == "23.5 tokens on average"
    assert jokes.samples_phrase(4.0) == "4 samples"
    assert jokes.samples_phrase(1.0) == "1 sample"
    assert jokes.samples_phrase(13 / 3) == "4.33 samples on average"


def test_sampling_clause_groups_temperatures_by_count():
    assert jokes.sampling_clause({0.7: 40, 1.0: 40}) == "40 times at each of the temperatures 0.7 and 1"
    assert (jokes.sampling_clause({0.3: 128, 0.7: 128, 1.0: 1008})
            == "1,008 times at temperature 1 and 128 times at each of the temperatures 0.3 and 0.7")


def test_census_row_and_finished_clause_read_as_prose():
    c = {"distinct": 38, "n": 40, "top_groups_share": 0.675}
    row = jokes.census_row(0.7, 64, c, ci(0.075, 0.026, 0.199, 40), ci(0.65, 0.5, 0.78, 40), "undecided")
    assert row.startswith("at temperature 0.7, the gate let 40 of 64 answers through, with 38 distinct jokes")
    assert "[" not in row
    assert row.endswith("so the census at that temperature is undecided")
    assert jokes.census_row(1.0, 40, c, ci(0.9, 0.8, 0.95), ci(0.9, 0.8, 0.95), "memorised jokes").endswith(
        "reads as memorised jokes")
    clause = jokes.finished_clause({0.7: ci(0.88, 0.74, 0.95, 40), 1.0: ci(0.82, 0.68, 0.91, 40)})
    assert clause.startswith("88% (95% CI") and " and " in clause and "at temperature 1" in clause


def comparison_of(serial, learned=("depth 1", "depth 2")):
    adv = ci(0.03, -0.34, 0.41)
    found = {"reading": serial, "learned": list(learned), "routes": ["depth 1", "depth 2", "scratchpad"],
             "baseline": 0.24, "compared": len(learned) - 1}
    if serial == "untrained":
        return found
    return {**found, "route": "depth 2", "advantage": adv, "route_accuracy": ci(0.37, 0.22, 0.51),
            "luck": ci(0.33, 0.0, 0.67)}


@pytest.mark.parametrize("serial", ["wins", "loses", "undecided", "uninformative", "untrained"])
def test_c9_evidence_and_compute_finding_have_no_code_words(serial):
    comparison = comparison_of(serial)
    gated = {0.7: (36, 40), 1.0: (12, 40)}
    text = jokes.c9_evidence({0.7: "undecided", 1.0: "memorised jokes"}, "undecided", comparison, gated)
    caption = jokes.compute_finding(comparison)
    for bad in ("reading:", "serial:", "True", "False", "SERIAL_ADVANTAGE", "`", "(s)", "["):
        assert bad not in text and bad not in caption
    assert ("undecided at temperature 0.7 (36 of 40 answers coherent) and memorised jokes at temperature 1 "
            "(12 of 40 answers coherent)") in text
    assert jokes.SERIAL_WORDS[serial] in caption
    assert ("solved new setups clearly beyond" in text) == (serial == "uninformative")
    assert ("are not compared" in text) == (serial == "untrained")
    for reading in ("author", "against", "undecided"):
        assert jokes.CENSUS_WORDS[reading] in jokes.c9_evidence({1.0: "x"}, reading, comparison, gated)


def test_the_best_of_several_routes_is_read_with_a_widened_interval():
    assert jokes.interval_words({"compared": 1}) == "95% interval"
    assert jokes.interval_words({"compared": 3}) == "98.3% interval, for picking the best of 3 routes"
    seeds = drawn()["seeds"]
    three = [{**s, "routes": {**s["routes"], "depth 3": s["routes"]["depth 2"]}} for s in seeds]
    one, both = jokes.serial_comparison(seeds), jokes.serial_comparison(three)
    assert both["compared"] == 2 and both["advantage"]["mean"] == one["advantage"]["mean"]
    assert both["advantage"]["low"] < one["advantage"]["low"]


def test_learned_clause_names_the_routes_that_passed():
    routes = ["depth 1", "depth 2"]
    assert jokes.learned_clause([], routes).startswith("no route learned its trained setups (positive control at "
                                                       "least 95%")
    assert jokes.learned_clause(["depth 2"], routes).startswith("only depth 2 learned")
    assert jokes.learned_clause(routes, routes).startswith("every route learned")


def test_the_gate_threshold_separates_labelled_scores_and_its_errors_are_left_one_out():
    scores = np.array([-5.0, -4.5, -4.0, -1.0, -1.5, -2.0, -3.5])
    labels = np.array([False, False, False, True, True, True, False])
    cut = jokes.best_threshold(scores, labels)
    assert -3.5 < cut <= -2.0 and ((scores >= cut) == labels).all()
    errors = jokes.gate_errors(scores, labels)
    assert errors["false_accept"]["n"] == 4 and errors["false_reject"]["n"] == 3
    assert errors["false_accept"]["mean"] == 0 and errors["false_reject"]["mean"] == 0
    mixed = np.array([-1.0, -1.0, -1.0, -1.0])  # scores that cannot tell the labels apart: the errors say so
    blind = jokes.gate_errors(mixed, np.array([True, False, True, False]))
    assert blind["false_accept"]["mean"] + blind["false_reject"]["mean"] >= 0.5


def test_the_labelled_answers_ship_with_a_datasheet_that_counts_them():
    texts, labels = jokes.load_labelled_coherence()
    assert len(texts) == len(labels) == 96 and 0 < labels.sum() < len(labels)
    sheet = " ".join((jokes.DATA / "LABELLED_COHERENCE_DATASHEET.md").read_text().split())
    assert f"{len(texts)} answers" in sheet and "seed 7" in sheet


def test_answer_logprobs_are_the_same_batched_or_one_at_a_time(random_llama):
    from types import SimpleNamespace

    class Tokenizer:
        pad_token_id = 0

        def apply_chat_template(self, messages, tokenize, add_generation_prompt):
            return "ask " + messages[0]["content"]

        def __call__(self, text, add_special_tokens=False):
            return SimpleNamespace(input_ids=[1 + (sum(map(ord, w)) % 40) for w in text.split()])

    model = random_llama()
    texts = ["a joke here", "", "a much longer joke with more words in it"]
    batched = jokes.answer_logprobs(model, Tokenizer(), texts, batch=3)
    alone = jokes.answer_logprobs(model, Tokenizer(), texts, batch=1)
    assert np.isneginf(batched[1]) and np.allclose(batched[[0, 2]], alone[[0, 2]], atol=1e-5)
    assert (batched[[0, 2]] < 0).all()


def test_the_census_rule_reads_only_what_the_gate_let_through():
    raw = {"census": {1.0: {"groups": [0] * 30 + list(range(1, 11)), "formats": ["why question + answer"] * 40,
                            "incoherent": 960}},
           "seeds": [jokes.drawn_seed(np.random.default_rng(s), 0.8, 0.05, True) for s in range(3)]}
    values = jokes.summarise(raw, {})
    assert values["cases"] == {"1": "memorised jokes"} and values["coherent"] == {"1": 40}
    assert values["incoherent"] == {"1": 960}
    none_through = {**raw, "census": {1.0: {"groups": [], "formats": [], "incoherent": 1000}}}
    assert jokes.summarise(none_through, {})["cases"] == {"1": "undecided"}
