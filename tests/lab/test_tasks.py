"""The group ladder: tables checked against known group properties, labels against an oracle."""
import itertools

import pytest
import torch

from deepenough.lab import ladder, tasks
from deepenough.lab.train import IGNORE


@pytest.mark.parametrize("group, order", [("z2", 2), ("s3", 6), ("a5", 60)])
def test_tables_are_groups_of_the_right_order(group, order):
    table = tasks.group_table(group)
    n = len(table)
    assert n == order
    assert torch.equal(table[0], torch.arange(n)) and torch.equal(table[:, 0], torch.arange(n))  # identity first
    for row in list(table) + list(table.T):                                   # a Latin square: inverses exist
        assert sorted(row.tolist()) == list(range(n))
    triples = itertools.product(range(n), repeat=3) if n <= 6 else [(a, b, c) for a in range(0, n, 7)
                                                                    for b in range(0, n, 5) for c in range(n)]
    assert all(table[table[a, b], c] == table[a, table[b, c]] for a, b, c in triples)   # associative


def test_known_properties_of_the_ladder():
    z2, s3, a5 = (tasks.group_table(g) for g in tasks.LADDER)
    assert torch.equal(z2, z2.T) and not torch.equal(s3, s3.T) and not torch.equal(a5, a5.T)  # abelian or not
    assert tasks.is_solvable(z2) and tasks.is_solvable(s3)
    assert tasks.derived_series(s3) == [6, 3, 1]          # S3 > A3 > 1
    assert tasks.derived_series(a5) == [60]               # A5 is perfect: [A5, A5] = A5
    assert not tasks.is_solvable(a5)
    assert all(tasks._even(p) for p in tasks.group_elements("a5"))


def compose_by_hand(group, elements):
    """Oracle: multiply the permutations themselves, left to right (state <- state then apply x)."""
    perms = tasks.group_elements(group)
    state = perms[elements[0]]
    out = [perms.index(state)]
    for e in elements[1:]:
        x = perms[e]
        state = tuple(state[x[i]] for i in range(len(x)))
        out.append(perms.index(state))
    return out


@pytest.mark.parametrize("group", tasks.LADDER)
def test_labels_are_the_running_product(group):
    ids, targets = tasks.group_task(6, 9, group)(torch.Generator().manual_seed(1))
    tok = tasks.group_tokens(group)
    assert (ids[:, 0] == tok["start"]).all() and (targets[:, 0] == IGNORE).all()
    assert int(ids.max()) < tok["vocab"] == tasks.group_vocab(group)
    for x, y in zip(ids[:, 1:].tolist(), targets[:, 1:].tolist()):
        assert y == compose_by_hand(group, x)


def test_z2_is_running_parity():
    ids, targets = tasks.group_task(8, 10, "z2")(torch.Generator().manual_seed(0))
    assert torch.equal(targets[:, 1:], ids[:, 1:].cumsum(1) % 2)


def test_cot_and_filler_layouts():
    tok = tasks.group_tokens("s3")
    ids, targets = tasks.group_task(4, 5, "s3", "cot")(torch.Generator().manual_seed(0))
    x, states = ids[:, 1::2], ids[:, 2::2] - tok["state_offset"]
    assert torch.equal(states, targets[:, 1::2]) and (targets[:, 2::2] == IGNORE).all()
    assert [compose_by_hand("s3", row) for row in x.tolist()] == states.tolist()
    ids, targets = tasks.group_task(4, 5, "s3", "filler")(torch.Generator().manual_seed(0))
    assert (ids[:, 2::2] == tok["filler"]).all() and (targets[:, 1::2] == IGNORE).all()
    with pytest.raises(ValueError):
        tasks.group_task(2, 3, "s3", "pause")
    with pytest.raises(ValueError):
        tasks.group_table("s4")


def test_the_curriculum_lengthens_chains_then_holds_them():
    make = ladder.curriculum(lambda n: tasks.group_task(4, n, "s3"), 6, ramp=4, start=2)
    lengths = [make(torch.Generator().manual_seed(0))[0].shape[1] - 1 for _ in range(8)]
    assert lengths == [2, 3, 4, 5, 6, 6, 6, 6]
    assert [ladder.chain_at(call, 6, ramp=4) for call in range(6)] == [2, 3, 4, 5, 6, 6]


def test_training_flops_count_every_token_of_the_curriculum():
    # 4 steps growing chains from 2 to 6 over the first 2: lengths 2, 4, 6, 6, each with its start token
    tokens = ladder.BATCH * ((2 + 1) + (4 + 1) + (6 + 1) + (6 + 1))
    assert ladder.training_flops(10.0, 4, length=6, ramp=2) == 3 * 10.0 * tokens
    assert ladder.training_flops(10.0, 0, length=6, ramp=2) == 0
