import pytest
import torch

from gancompanion import data, nets, streams, train

RING = data.ring()


def _run(seeds, cfg, hooks=(), checkpoint=None, dist=RING, **kwargs):
    st = streams.ToyStreams(dist, seeds, batch_size=32, latent_dim=2, chunk=8)
    g = nets.mlp_generator(2, [16, 16], 2, seeds)
    d = nets.mlp_discriminator(2, [16, 16], seeds)
    result = train.train(g, d, st, cfg, hooks=list(hooks), checkpoint=checkpoint, checkpoint_every=10, progress=False,
                         **kwargs)
    return result, g, d


def test_history_has_one_row_per_run_and_logged_step():
    cfg = train.TrainConfig(steps=12, log_every=5, lr_d=1e-3, lr_g=1e-3)
    result, _, _ = _run([0, 1], cfg)
    h = result.history
    assert list(h.columns) == ["step", "run", "d_loss", "g_loss", "penalty", "d_real", "d_fake"]
    assert h.step.tolist() == [5, 5, 10, 10, 12, 12] and h.run.tolist() == [0, 1] * 3
    assert h[["d_loss", "g_loss"]].notna().all().all()


@pytest.mark.parametrize("variant", [
    dict(),
    dict(regularizer="roth", reg_weight=0.1, noise_sigma=0.1),
    dict(regularizer="roth", reg_weight=0.1, reg_schedule="exponential"),
    dict(regularizer="r1", reg_weight=1.0),
    dict(noise_sigma=0.2, noise_schedule="linear"),
    dict(objective="wgan", regularizer="wgan_gp", reg_weight=1.0, n_dis=2),
])
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


# ------------------------------------------------------------------------------------------
# Speed features: what can be checked on a CPU (the benchmarks measure the speed itself).


def test_adam_is_the_fused_kernel_on_the_cpu():
    opt = train.make_adam(torch.nn.Linear(2, 2).parameters(), 1e-3, (0.5, 0.999), torch.device("cpu"))
    assert opt.defaults["fused"] is True


def test_compile_defaults_to_off_on_the_cpu_and_on_on_cuda():
    assert train.use_compile("auto", "cpu") is False
    assert train.use_compile("auto", "cuda") is True
    assert train.use_compile(True, "cpu") is True and train.use_compile(False, "cuda") is False
    with pytest.raises(ValueError, match="unknown compile 'yes'"):
        train.use_compile("yes", "cpu")


@pytest.mark.parametrize("variant, d_compiled", [(dict(), True), (dict(regularizer="r1", reg_weight=1.0), False)])
def test_compile_wraps_g_always_and_d_only_without_double_backward(monkeypatch, variant, d_compiled):
    compiled = []

    def fake_compile(module, **kwargs):  # stands in for torch.compile (slow on this CPU), records its argument
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    result, g, d = _run([0], train.TrainConfig(steps=2, log_every=1, **variant), compile=True)
    assert compiled[0] is g and (d in compiled) == d_compiled


def test_d_scores_real_and_fake_in_one_call_only_when_that_is_safe():
    d = nets.mlp_discriminator(2, [4], [0])
    assert train.fuses_d_calls(d, ()) is True
    assert train.fuses_d_calls(d, ("real", "fake")) is False  # measured slower with Roth's double backward
    assert train.fuses_d_calls(d, ("real",)) is False
    assert train.fuses_d_calls(torch.nn.Linear(2, 1), ()) is False  # no per_sample promise: two calls
    assert nets.DCGANDiscriminator(16, 8).per_sample is True


@pytest.mark.parametrize("variant", [dict(), dict(objective="wgan", regularizer="wgan_gp", reg_weight=1.0)])
def test_one_fused_d_call_equals_two_calls(monkeypatch, variant):
    cfg = train.TrainConfig(steps=15, log_every=5, lr_d=1e-3, lr_g=1e-3, **variant)
    fused, g1, _ = _run([2, 5], cfg)
    monkeypatch.setattr(train, "fuses_d_calls", lambda d, needs_grad: False)
    separate, g2, _ = _run([2, 5], cfg)
    assert torch.allclose(torch.tensor(fused.history.d_loss.values), torch.tensor(separate.history.d_loss.values),
                          rtol=1e-4, atol=1e-6)
    for p, q in zip(g1.parameters(), g2.parameters()):
        assert torch.allclose(p, q, rtol=1e-4, atol=1e-5)


class HostReads(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts reads of a tensor's value by the host (``.item()``, ``bool(t)``, ``if t:``): on a GPU
    each one waits for the device to finish all the work queued before it."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            self.count += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("variant", [dict(noise_sigma=0.1, noise_schedule="exponential"),
                                     dict(regularizer="roth", reg_weight=0.1, reg_schedule="linear"),
                                     dict(objective="wgan", regularizer="wgan_gp", reg_weight=1.0, n_dis=2),
                                     dict(objective="wgan", weight_clip=0.01)])
def test_training_steps_never_read_a_tensor_on_the_host(variant):
    reads, per_step = HostReads(), {}

    def note(step, g, d, s):
        per_step[step] = reads.count

    cfg = train.TrainConfig(steps=12, log_every=6, lr_d=1e-3, lr_g=1e-3, **variant)
    with reads:
        _run([0, 1], cfg, hooks=[train.Hook("note", 1, note)])
    steps = sorted(per_step)
    assert [per_step[b] - per_step[a] for a, b in zip(steps, steps[1:])] == [0] * (len(steps) - 1)
