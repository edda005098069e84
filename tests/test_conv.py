"""The conv pair and the MLP discriminator with remedy options: shapes, packing purity, spectral norm."""

import torch

from mnistgan.conv import ConvDiscriminator, ConvGenerator, dcgan_init
from mnistgan.mlp import MLPDiscriminator
from mnistgan.mlp import MLPDiscriminator as TutorialD


def test_conv_shapes_and_features():
    torch.manual_seed(0)
    G = ConvGenerator(z_dim=100, channels=8)
    x = G(torch.randn(6, 100))
    assert x.shape == (6, 784) and x.min() >= 0 and x.max() <= 1
    D = ConvDiscriminator(channels=8)
    logits, feats = D(x, return_features=True)
    assert logits.shape == (6, 1) and feats.shape == (6, D.feature_dim) and D.feature_dim == 16 * 49
    assert torch.allclose(D.fc(feats), logits)
    assert torch.allclose(D(x.reshape(6, 1, 28, 28)), logits)  # image or flat input alike
    Dm = ConvDiscriminator(channels=8, mbstd=True, pack=2)
    assert Dm(x).shape == (3, 1) and Dm.feature_dim == 17 * 49


def test_packed_mbstd_d_on_concatenated_batch_equals_separate_calls():
    torch.manual_seed(0)
    real, fake = torch.rand(8, 784), torch.rand(8, 784)
    for D in (ConvDiscriminator(channels=8, mbstd=True, pack=2), MLPDiscriminator(32, mbstd=True, pack=2)):
        both = D(torch.cat([real, fake]))
        assert both.shape == (8, 1)
        assert torch.allclose(both, torch.cat([D(real), D(fake)]), atol=1e-6)
    D = MLPDiscriminator(32, minibatch_disc=True, md_kernels=7, md_group=8)
    assert torch.allclose(D(torch.cat([real, fake])), torch.cat([D(real), D(fake)]), atol=1e-6)
    assert D.feature_dim == 39


def test_plain_mlp_discriminator_is_the_tutorials():
    torch.manual_seed(0)
    ref = TutorialD(256)
    D = MLPDiscriminator(256)
    D.load_state_dict(ref.state_dict())
    x = torch.rand(5, 784)
    assert torch.equal(D(x), ref(x))


def test_spectral_norm_bounds_each_layer():
    torch.manual_seed(0)
    D = ConvDiscriminator(channels=8, spectral_norm=True)
    dcgan_init(D)
    for _ in range(30):  # each training-mode forward runs one power iteration
        D(torch.rand(4, 784))
    sigma = torch.linalg.matrix_norm(D.fc.weight.detach(), ord=2)
    assert abs(sigma.item() - 1.0) < 1e-3
    w = D.conv2.weight.detach().flatten(1)  # torch normalises the reshaped (out, in*k*k) kernel matrix
    assert abs(torch.linalg.matrix_norm(w, ord=2).item() - 1.0) < 1e-3
