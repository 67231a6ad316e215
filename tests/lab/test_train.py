"""Unit tests for the one training loop and the tiny models every from-scratch chapter uses."""
import pytest
import torch

from deepenough.lab import tiny, train


def copy_previous_token(batch: int = 64, length: int = 12, vocab: int = 8):
    def make(gen):
        ids = torch.randint(0, vocab, (batch, length), generator=gen)
        targets = torch.full_like(ids, train.IGNORE)
        targets[:, 1:] = ids[:, :-1]
        return ids, targets
    return make


@pytest.mark.slow  # trains for a few seconds
def test_the_loop_learns_a_task_a_one_layer_model_can_solve():
    model = tiny.llama(vocab=8, d_model=32, depth=1, max_len=16)
    test = copy_previous_token(256)(torch.Generator().manual_seed(1))
    before = train.accuracy(model, test)
    log = train.train(model, copy_previous_token(), steps=400, lr=3e-3)
    assert log.loss[-1] < log.loss[0] / 4 and log.seconds > 0
    assert before < 0.3 < 0.95 < train.accuracy(model, test)


def test_accuracy_counts_only_scored_positions():
    model = tiny.llama(vocab=8, d_model=16, depth=1, max_len=8)
    ids = torch.zeros(2, 4, dtype=torch.long)
    predicted = train.predictions(model, ids)
    targets = torch.full_like(ids, train.IGNORE)
    targets[0, 1] = predicted[0, 1]
    targets[1, 2] = (predicted[1, 2] + 1) % 8
    assert train.accuracy(model, (ids, targets)) == 0.5


def test_looped_model_counts_its_block_once_and_its_passes_in_flops():
    one = tiny.llama(vocab=8, d_model=16, depth=1, max_len=8)
    params, flops = tiny.count_params(one), tiny.flops_per_token(one, 8)
    looped = tiny.looped(one, 3)
    assert tiny.count_params(looped) == params
    assert tiny.flops_per_token(looped, 8) > 2.9 * flops


def test_device_of_a_model_without_weights_is_the_cpu():
    assert tiny.device_of(torch.nn.Identity()).type == "cpu"
    assert tiny.device_of(tiny.llama(vocab=8, d_model=16, depth=1)).type == "cpu"


def test_a_probe_runs_every_so_many_steps_and_training_goes_on_in_training_mode():
    model = tiny.llama(vocab=8, d_model=16, depth=1, max_len=8)
    modes = []

    def probe(m):
        modes.append(m.training)
        m.eval()
        return len(modes)

    log = train.train(model, copy_previous_token(batch=4, length=6), steps=10, probe=probe, probe_every=4)
    assert log.probes == [(4, 1), (8, 2)] and modes == [True, True]
