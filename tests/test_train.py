import pytest
import torch

from gancompanion import data, nets, streams, train

RING = data.ring()


def _run(seeds, cfg, hooks=(), checkpoint=None, dist=RING):
    st = streams.ToyStreams(dist, seeds, batch_size=32, latent_dim=2, chunk=8)
    g = nets.mlp_generator(2, [16, 16], 2, seeds)
    d = nets.mlp_discriminator(2, [16, 16], seeds)
    result = train.train(g, d, st, cfg, hooks=list(hooks), checkpoint=checkpoint, checkpoint_every=10, progress=False)
    return result, g, d


def test_history_has_one_row_per_run_and_logged_step():
    cfg = train.TrainConfig(steps=12, log_every=5, lr_d=1e-3, lr_g=1e-3)
    result, _, _ = _run([0, 1], cfg)
    h = result.history
    assert list(h.columns) == ["step", "run", "d_loss", "g_loss", "penalty", "d_real", "d_fake"]
    assert h.step.tolist() == [5, 5, 10, 10, 12, 12] and h.run.tolist() == [0, 1] * 3
    assert h[["d_loss", "g_loss"]].notna().all().all()


@pytest.mark.parametrize("variant", [dict(), dict(regularizer="roth", reg_weight=0.1, noise_sigma=0.1),
                                     dict(objective="wgan", regularizer="wgan_gp", reg_weight=1.0, n_dis=2)])
def test_seeds_trained_together_equal_seeds_trained_alone(variant):
    cfg = train.TrainConfig(steps=20, log_every=5, lr_d=1e-3, lr_g=1e-3, **variant)
    together, g2, d2 = _run([3, 7], cfg)
    for i, seed in enumerate([3, 7]):
        alone, g1, d1 = _run([seed], cfg)
        a = together.history[together.history.run == seed].reset_index(drop=True)
        b = alone.history.reset_index(drop=True)
        assert torch.allclose(torch.tensor(a.d_loss.values), torch.tensor(b.d_loss.values), rtol=1e-4, atol=1e-6)
        for p2, p1 in zip(g2.parameters(), g1.parameters()):
            assert torch.allclose(p2[i], p1[0], rtol=1e-4, atol=1e-5)
        for p2, p1 in zip(d2.parameters(), d1.parameters()):
            assert torch.allclose(p2[i], p1[0], rtol=1e-4, atol=1e-5)


def test_samples_hook_records_at_fixed_steps():
    cfg = train.TrainConfig(steps=10, log_every=5)
    result, _, _ = _run([0, 1], cfg, hooks=[train.samples_hook(n=7, every=5)])
    assert sorted(result.records["samples"]) == [0, 5, 10]
    assert result.records["samples"][5].shape == (2, 7, 2)


def test_resume_after_interruption_gives_the_uninterrupted_result(tmp_path):
    cfg = train.TrainConfig(steps=20, log_every=5, lr_d=1e-3, lr_g=1e-3, noise_sigma=0.05)
    full, g_full, _ = _run([1], cfg)

    def stop_at_15(step, g, d, s):
        if step == 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run([1], cfg, hooks=[train.Hook("stop", 1, stop_at_15)], checkpoint=tmp_path / "run.pt")
    assert (tmp_path / "run.pt").exists()
    resumed, g_res, _ = _run([1], cfg, checkpoint=tmp_path / "run.pt")
    for p, q in zip(g_full.parameters(), g_res.parameters()):
        assert torch.equal(p, q)
    assert resumed.history.d_loss.tolist() == full.history.d_loss.tolist()


def test_resume_refuses_a_changed_config(tmp_path):
    _run([1], train.TrainConfig(steps=10, lr_d=1e-3), checkpoint=tmp_path / "run.pt")
    with pytest.raises(ValueError, match="lr_d: 0.001 -> 0.002"):
        _run([1], train.TrainConfig(steps=10, lr_d=2e-3), checkpoint=tmp_path / "run.pt")


class NaNAfterFirst(data.GaussianMixture):
    def sample(self, shape, generator=None, device=None):
        return super().sample(shape, generator, device) * float("nan")


def test_nan_guard_records_or_raises():
    bad = NaNAfterFirst(RING.centers, 0.01)
    with pytest.warns(RuntimeWarning, match="non-finite loss at step 5 in run"):
        result, _, _ = _run([0], train.TrainConfig(steps=10, log_every=5), dist=bad)
    assert result.diverged == {0: 5}
    with pytest.raises(FloatingPointError, match="step 5"):
        _run([0], train.TrainConfig(steps=10, log_every=5, nan_policy="raise"), dist=bad)


@pytest.mark.parametrize("kwargs, match", [
    (dict(objective="vanilla"), "unknown objective 'vanilla'"),
    (dict(regularizer="gp"), "unknown regularizer 'gp'"),
    (dict(noise_sigma=-1.0), "noise_sigma must be a number >= 0"),
    (dict(steps=0), "steps must be an integer >= 1"),
    (dict(noise_schedule="step"), "unknown schedule 'step'"),
    (dict(nan_policy="ignore"), "unknown nan_policy 'ignore'"),
])
def test_bad_config_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.TrainConfig(**{"steps": 10, **kwargs})


def test_dataset_streams_cover_each_epoch_once():
    x = torch.arange(10.0).reshape(10, 1)
    st = streams.DatasetStreams(x, batch_size=5, latent_dim=2, seed=0)
    seen = torch.cat([st.real(), st.real()]).flatten().sort().values
    assert seen.tolist() == list(range(10))
    with pytest.raises(ValueError, match="batch_size 20 is larger than the dataset"):
        streams.DatasetStreams(x, batch_size=20, latent_dim=2, seed=0)
