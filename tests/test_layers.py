"""Minibatch standard deviation, minibatch discrimination and PacGAN packing against hand computations."""

import pytest
import torch

from mnistgan.errors import UserError
from mnistgan.layers import MinibatchDiscrimination, minibatch_stddev, pack, unpack


def test_mbstd_constant_batch_is_zero():
    x = torch.full((8, 3, 5, 5), 0.7)
    out = minibatch_stddev(x, group_size=4, eps=0.0)
    assert out.shape == (8, 4, 5, 5)
    assert torch.equal(out[:, :3], x)
    assert torch.equal(out[:, 3], torch.zeros(8, 5, 5))
    # With ProGAN's eps the constant-batch value is sqrt(eps).
    assert torch.allclose(minibatch_stddev(x)[:, 3], torch.full((8, 5, 5), 1e-4))


def test_mbstd_known_batch_matches_hand_computation():
    x = torch.tensor([[0.0, 0.0], [2.0, 4.0], [1.0, 1.0], [1.0, 1.0]])
    out = minibatch_stddev(x, group_size=2, eps=0.0)
    # Group {0, 1}: feature stds 1 and 2 (biased), mean 1.5; group {2, 3}: constant, 0.
    assert torch.allclose(out[:, 2], torch.tensor([1.5, 1.5, 0.0, 0.0]))
    # Images: per-pixel std over the group, averaged over channels and pixels, broadcast over the map.
    img = torch.randn(4, 2, 3, 3, dtype=torch.float64)
    expect = img[:2].std(dim=0, unbiased=False).mean()
    assert torch.allclose(minibatch_stddev(img, 2, 0.0)[0, 2], expect.expand(3, 3))


def test_mbstd_groups_never_mix_a_concatenated_real_and_fake_batch():
    real, fake = torch.randn(8, 5), torch.randn(8, 5) * 3
    both = minibatch_stddev(torch.cat([real, fake]), 4)
    assert torch.allclose(both, torch.cat([minibatch_stddev(real, 4), minibatch_stddev(fake, 4)]))
    # A group size that does not divide the batch falls back to the largest divisor below it (6 -> 3).
    x = torch.randn(6, 2)
    assert torch.allclose(minibatch_stddev(x, 4), minibatch_stddev(x, 3))


def test_minibatch_discrimination_matches_direct_loop_and_excludes_self():
    torch.manual_seed(0)
    layer = MinibatchDiscrimination(6, num_kernels=4, kernel_dim=3).double()
    x = torch.randn(5, 6, dtype=torch.float64)
    out = layer(x)
    M = (x @ layer.T).reshape(5, 4, 3)
    expect = torch.zeros(5, 4, dtype=torch.float64)
    for i in range(5):
        for j in range(5):
            if j != i:
                expect[i] += torch.exp(-(M[i] - M[j]).abs().sum(-1))
    assert out.shape == (5, 10)
    assert torch.allclose(out[:, :6], x) and torch.allclose(out[:, 6:], expect)
    # Identical samples: every other sample contributes exp(0) = 1, self contributes nothing.
    same = layer(torch.ones(5, 6, dtype=torch.float64))[:, 6:]
    assert torch.allclose(same, torch.full((5, 4), 4.0, dtype=torch.float64))


def test_minibatch_discrimination_group_size():
    layer = MinibatchDiscrimination(6, 4, 3, group_size=4)
    a, b = torch.randn(4, 6), torch.randn(4, 6)
    assert torch.allclose(layer(torch.cat([a, b])), torch.cat([layer(a), layer(b)]))
    with pytest.raises(UserError, match="multiple of its group size"):
        layer(torch.randn(6, 6))


def test_pack_shapes_and_sources():
    flat = torch.arange(8 * 784, dtype=torch.float32).reshape(8, 784)
    packed = pack(flat, 2)
    assert packed.shape == (4, 1568)
    assert torch.equal(packed[1], torch.cat([flat[2], flat[3]]))
    assert torch.equal(unpack(packed, 2), flat)
    images = flat.reshape(8, 1, 28, 28)
    packed_img = pack(images, 4)
    assert packed_img.shape == (2, 4, 28, 28)
    assert torch.equal(packed_img[1, 2], images[6, 0])
    assert torch.equal(unpack(packed_img, 4), images)
    # Real (0) and fake (1) concatenated: every packed input holds samples of one source only.
    source = torch.cat([torch.zeros(6, 784), torch.ones(6, 784)])
    for m in (2, 3):
        p = pack(source, m)
        assert torch.equal(p.amin(dim=1), p.amax(dim=1))


def test_pack_rejects_indivisible_batch():
    with pytest.raises(UserError, match="not divisible by pack size 4"):
        pack(torch.zeros(6, 784), 4)
