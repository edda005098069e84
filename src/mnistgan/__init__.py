"""mnistgan: the tutorial's MLP GAN on MNIST, reproduced on PyTorch, measured, fixed and made fast."""

__version__ = "0.1.0"
