"""Batcher: each epoch is a fresh permutation of the data (sampling without replacement, reshuffled every epoch), a
batch that crosses an epoch boundary is the old epoch's tail plus the new one's head, and the batch at step i is a pure
function of (seed, i), whatever order the steps are asked in."""

from __future__ import annotations

import numpy as np
import torch

from mnistgan.data import Batcher

CPU = torch.device("cpu")


def _batcher(n: int = 40, batch: int = 8, seed: int = 3, labels: bool = False) -> Batcher:
    images = np.arange(n, dtype=np.uint8).repeat(784).reshape(n, 28, 28)  # image i is all pixels i: ids readable
    return Batcher(images, batch, seed, CPU, np.arange(n) % 10 if labels else None)


def _epoch(b: Batcher, epoch: int) -> list[int]:
    per = len(b.data) // b.batch_size
    return torch.cat([b.indices(s) for s in range(epoch * per, (epoch + 1) * per)]).tolist()


def test_every_epoch_is_a_permutation_and_epochs_differ() -> None:
    b = _batcher()
    orders = [_epoch(b, e) for e in range(4)]
    for order in orders:
        assert sorted(order) == list(range(40))  # each image once per epoch
    assert len({tuple(o) for o in orders}) == 4  # reshuffled every epoch, never the same order twice
    assert orders[0] != list(range(40))  # and shuffled at all


def test_pixels_follow_the_indices() -> None:
    b = _batcher(labels=True)
    for step in (0, 4, 7):
        idx = b.indices(step)
        assert torch.equal(b.batch(step), idx.float()[:, None].expand(-1, 784) / 255)
        images, labels = b.batch_with_labels(step)
        assert torch.equal(images, b.batch(step)) and torch.equal(labels, idx % 10)


def test_batch_across_the_epoch_boundary() -> None:
    b = _batcher(n=20, batch=8)  # 20 = 8 + 8 + 4: step 2 takes 4 from epoch 0 and 4 from epoch 1
    perm0, perm1 = b._perm(0).tolist(), b._perm(1).tolist()
    assert b.indices(2).tolist() == perm0[16:] + perm1[:4]
    assert b.indices(3).tolist() == perm1[4:12]
    assert perm0 != perm1


def test_batches_are_a_pure_function_of_seed_and_step() -> None:
    forward = _batcher()
    expected = {s: forward.indices(s).tolist() for s in range(25)}
    backward = _batcher()  # a fresh batcher asked in reverse order: the permutation cache must not matter
    assert {s: backward.indices(s).tolist() for s in reversed(range(25))} == expected
    jumping = _batcher()
    for s in (24, 0, 13, 2, 20, 1):
        assert jumping.indices(s).tolist() == expected[s]
    other_seed = _batcher(seed=4)
    assert other_seed.indices(0).tolist() != expected[0]
