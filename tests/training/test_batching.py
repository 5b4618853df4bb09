import numpy as np
import pandas as pd
import pytest
import torch

from gancompanion.training import batching, nets, train
from gancompanion.chapters import chapter
from gancompanion import data
from gancompanion.evaluation import metrics
from gancompanion.techniques.noise import InstanceNoise
from gancompanion.training.parts import Recipe
from gancompanion.techniques.d_terms import Penalties, Penalty

TOY = data.ring7_3d()
VARIANTS = {  # Chapter 3's five kinds of variant, on a tiny scale
    "plain": (Recipe("minimax"), [0, 1]),
    "noise": (Recipe("minimax", noise=InstanceNoise(0.3)), [0]),
    "annealed": (Recipe("minimax", noise=InstanceNoise(0.3, "exponential", 0.1)), [1]),
    "roth": (Recipe("minimax", d_terms=[Penalty("roth", 0.1)]), [0, 1]),
    "r1": (Recipe("minimax", d_terms=[Penalty("r1", 0.05)]), [1]),
}


def _build(seeds):
    return nets.mlp_generator(2, [8, 8], 3, seeds, init_std=0.1), nets.mlp_discriminator(3, [8, 8], seeds, init_std=0.1)


def _evaluate(step, g, st):
    with torch.no_grad():
        x = g(st.fixed_latent(64)).numpy()
    return {**metrics.evaluate(x, TOY, 3.0), "samples": x[:, :5]}


def _train(together, steps=8, **kw):
    cfg = train.TrainConfig(steps=steps, lr_d=1e-3, lr_g=1e-3, log_every=2)
    return chapter.train_variants(VARIANTS, _build, TOY, cfg, batch_size=16, latent_dim=2, evaluate=_evaluate,
                                  eval_every=2, together=together, **kw)


def test_merge_gives_one_setting_per_run():
    recipe = batching.merge([(r, len(s)) for r, s in VARIANTS.values()])
    assert recipe.noise.sigma == (0.0, 0.0, 0.3, 0.3, 0.0, 0.0, 0.0)
    assert recipe.noise.decay == (1.0, 1.0, 1.0, 0.1, 1.0, 1.0, 1.0)
    (term,) = recipe.d_terms
    assert isinstance(term, Penalties)
    assert [p.weight for p in term.penalties] == [(0, 0, 0, 0, 0.1, 0.1, 0), (0, 0, 0, 0, 0, 0, 0.05)]


def test_merge_refuses_variants_that_differ_in_more_than_numbers():
    with pytest.raises(ValueError, match="share their objective"):
        batching.merge([(Recipe("minimax"), 1), (Recipe("nonsaturating"), 1)])
    with pytest.raises(ValueError, match="cannot share one term"):
        batching.merge([(Recipe(d_terms=[Penalty("roth", 0.1)]), 1), (Recipe(d_terms=[Penalty("wgan_gp", 1.0)]), 1)])


def test_per_run_decay_anneals_each_run_as_it_would_alone():
    together = InstanceNoise((0.5, 0.5), "exponential", (1.0, 0.1))
    assert together.sigma_at(5, 10) == (InstanceNoise(0.5).sigma_at(5, 10),
                                        InstanceNoise(0.5, "exponential", 0.1).sigma_at(5, 10))


def test_variants_trained_together_equal_variants_trained_separately():
    apart, together = _train(False), _train(True)
    cols = ["variant", "seed", "step"]
    a, b = (t.sort_values(cols).reset_index(drop=True) for t in (apart.table, together.table))
    pd.testing.assert_frame_equal(a[cols], b[cols])
    np.testing.assert_allclose(a.hq_fraction, b.hq_fraction, atol=0.02)  # a sample may cross the 3-std edge
    np.testing.assert_allclose(a.off_plane, b.off_plane, rtol=1e-4, atol=1e-6)
    for name in VARIANTS:
        np.testing.assert_allclose(apart.records[name][8]["samples"], together.records[name][8]["samples"],
                                   rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("together", [True, False])
def test_chapter_3s_training_resumes_after_an_interruption(tmp_path, together):
    full = _train(together)

    def stop_at_6(step, g, st):
        if step == 6:
            raise KeyboardInterrupt
        return _evaluate(step, g, st)

    cfg = train.TrainConfig(steps=8, lr_d=1e-3, lr_g=1e-3, log_every=2)
    with pytest.raises(KeyboardInterrupt):
        chapter.train_variants(VARIANTS, _build, TOY, cfg, batch_size=16, latent_dim=2, evaluate=stop_at_6,
                               eval_every=2, together=together, checkpoint_dir=tmp_path, checkpoint_every=2)
    resumed = _train(together, checkpoint_dir=tmp_path, checkpoint_every=2)
    pd.testing.assert_frame_equal(full.table, resumed.table)
    for name in VARIANTS:
        assert np.array_equal(full.records[name][8]["samples"], resumed.records[name][8]["samples"])
