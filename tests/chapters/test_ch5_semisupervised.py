import numpy as np
import pytest
import torch

from gancompanion.chapters import ch5, ch5_semisupervised as SS
from gancompanion import data
from gancompanion.pipeline.scales import Settings


def test_label_subset_counts_and_errors():
    y = torch.arange(10).repeat(7)  # 7 of each class
    idx = SS.label_subset(y, 3, seed=0)
    assert torch.equal(torch.bincount(y[idx], minlength=10), torch.full((10,), 3))
    assert not torch.equal(idx, SS.label_subset(y, 3, seed=1))
    with pytest.raises(ValueError, match="labels_per_class.*larger than the data"):
        SS.label_subset(y, 8, seed=0)
    with pytest.raises(ValueError, match="labels_per_class"):
        SS.label_subset(y, 0, seed=0)


def test_unsupervised_loss_is_the_gan_loss_on_log_z():
    """-log(1 - p(K+1|x)) = softplus(-logsumexp l) and -log p(K+1|G(z)) = softplus(logsumexp l)."""
    logits = torch.randn(4, 10)
    p_fake_class = torch.softmax(torch.cat([logits, torch.zeros(4, 1)], -1), -1)[:, -1]  # l_{K+1} = 0
    lse = torch.logsumexp(logits, -1)
    assert torch.allclose(-torch.log(1 - p_fake_class), torch.nn.functional.softplus(-lse), atol=1e-6)
    assert torch.allclose(-torch.log(p_fake_class), torch.nn.functional.softplus(lse), atol=1e-6)


def test_tiny_semi_supervised_and_supervised_runs():
    cfg = Settings(latent_dim=4, g_hidden=(16,), d_hidden=(16,), input_noise=0.3, hidden_noise=0.5,
                   batch_size=8, lr=1e-3, betas=(0.5, 0.999), log_every=5, steps=10)
    x = torch.rand(60, 64) * 2 - 1
    y = torch.arange(10).repeat(6)
    xl, yl = SS.labelled_sets(x, y, 2, seeds=[0, 1])
    assert xl.shape == (2, 20, 64) and yl.shape == (2, 20)
    d = SS.train_semi_supervised(x, xl, yl, [0, 1], cfg, "cpu", progress=False)
    err = SS.test_error(d, x, y)
    assert err.shape == (2,) and np.all((0 <= err) & (err <= 1))
    d0 = SS.train_supervised(xl, yl, [0, 1], cfg, "cpu", progress=False)
    assert SS.test_error(d0, x, y).shape == (2,)


def test_mode_hopping_and_variants():
    ring = data.ring()
    c = ring.centers.numpy()
    same = np.repeat(c[None, None, 0], 10, axis=1)  # (1, 10, 2) all on mode 0
    other = np.repeat(c[None, None, 1], 10, axis=1)
    assert ch5.mode_hopping([same, same], ring) == pytest.approx([0.0])
    assert ch5.mode_hopping([same, other, same], ring) == pytest.approx([1.0])
    assert ch5.techniques_of("all together") == ch5.TECHNIQUES
    with pytest.raises(ValueError, match="variant"):
        ch5.techniques_of("dropout")
