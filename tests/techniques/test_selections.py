"""Top-k selection (Sinha et al. 2020)."""

import pytest
import torch

from gancompanion.techniques import selections
from gancompanion.training import parts


def test_top_k_keeps_exactly_k_highest():
    scores = torch.randn(3, 64)
    sel = selections.TopK(gamma=0.99, nu=0.5, epoch_steps=10)
    assert sel.k(0, 64) == 64 and sel.k(10, 64) == round(0.99 * 64) and sel.k(10_000, 64) == 32
    idx = sel(parts.DOutput(scores), step=10_000)
    assert idx.shape == (3, 32)
    kept = scores.gather(-1, idx)
    threshold = scores.topk(32, dim=-1).values[:, -1:]
    assert (kept >= threshold).all() and len(set(idx[0].tolist())) == 32
    low = selections.TopK(nu=0.25, largest=False)(scores, step=10 ** 6)
    assert (scores.gather(-1, low) <= scores.topk(16, dim=-1, largest=False).values[:, -1:]).all()
    assert selections.top_k_fraction(0) == 1.0 and selections.top_k_fraction(1000) == 0.5


@pytest.mark.parametrize("kwargs,name", [(dict(gamma=0.0), "gamma"), (dict(gamma=1.5), "gamma"),
                                         (dict(nu=0.0), "nu"), (dict(nu=2.0), "nu"),
                                         (dict(epoch_steps=0), "epoch_steps")])
def test_top_k_bad_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        selections.TopK(**kwargs)
