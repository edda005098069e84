"""GAN losses as pure functions of discriminator logits.

Written with softplus, which is binary cross-entropy with logits: -log(sigmoid(l)) = softplus(-l) and
-log(1 - sigmoid(l)) = softplus(l). Unlike log(sigmoid(.)) this never evaluates log(0), so it cannot give NaN or inf.
The tutorial writes the same losses with log10 in places; that only multiplies the loss by 1/ln(10) and rescales
the gradient by the same constant, which Adam (invariant to a constant gradient scale) does not see.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_loss_nsgan(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean(log D(x)) - mean(log(1 - D(G(z)))): the tutorial's discriminator loss."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss_nsgan(fake_logits: torch.Tensor) -> torch.Tensor:
    """-mean(log D(G(z))): the non-saturating generator loss the tutorial uses."""
    return F.softplus(-fake_logits).mean()
