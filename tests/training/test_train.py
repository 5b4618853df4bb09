import pytest
import torch

import torch.nn.functional as F

from gancompanion.techniques import constraints
from gancompanion import data
from gancompanion.training import nets, objectives, parts, streams, train
from gancompanion.techniques.noise import InstanceNoise
from gancompanion.techniques.d_terms import Penalty

RING = data.ring()


def _run(seeds, cfg, hooks=(), checkpoint=None, dist=RING, checkpoint_every=10, **kwargs):
    st = streams.ToyStreams(dist, seeds, batch_size=32, latent_dim=2, chunk=8)
    g = nets.mlp_generator(2, [16, 16], 2, seeds)
    d = nets.mlp_discriminator(2, [16, 16], seeds)
    result = train.train(g, d, st, cfg, hooks=list(hooks), checkpoint=checkpoint, checkpoint_every=checkpoint_every,
                         progress=False, **kwargs)
    return result, g, d


# The parts of the variants below (TrainConfig options go in "cfg").
NOISE = dict(noise=InstanceNoise(0.1))
ROTH_NOISE = dict(d_terms=[Penalty("roth", 0.1)], noise=InstanceNoise(0.1))
ROTH_ANNEALED = dict(d_terms=[Penalty("roth", 0.1, schedule="exponential")])
R1 = dict(d_terms=[Penalty("r1", 1.0)])
NOISE_LINEAR = dict(noise=InstanceNoise(0.2, "linear"))
WGAN_GP = dict(objective="wgan", d_terms=[Penalty("wgan_gp", 1.0)], cfg=dict(n_dis=2))
WGAN_CLIP = dict(objective="wgan", constraints=[constraints.WeightClip(0.01)])
SN_HINGE = dict(objective="hinge", constraints=[constraints.SpectralNorm(1)])


def _split(variant):
    variant = dict(variant)
    return variant.pop("cfg", {}), variant


def test_history_has_one_row_per_run_and_logged_step():
    cfg = train.TrainConfig(steps=12, log_every=5, lr_d=1e-3, lr_g=1e-3)
    result, _, _ = _run([0, 1], cfg)
    h = result.history
    assert list(h.columns) == ["step", "run", "d_loss", "p_real", "p_fake", "accuracy", "g_loss"]
    assert h.step.tolist() == [5, 5, 10, 10, 12, 12] and h.run.tolist() == [0, 1] * 3
    assert h[["d_loss", "g_loss"]].notna().all().all()


def test_history_columns_are_named_for_what_the_parts_return():
    cfg = train.TrainConfig(steps=4, log_every=2)
    wgan, _, _ = _run([0], cfg, **_split(WGAN_GP)[1])
    assert list(wgan.history.columns) == ["step", "run", "d_loss", "wgan_gp_penalty", "critic_real", "critic_fake",
                                          "g_loss"]


@pytest.mark.parametrize("variant", [dict(), ROTH_NOISE, ROTH_ANNEALED, R1, NOISE_LINEAR, WGAN_GP, WGAN_CLIP, SN_HINGE])
def test_seeds_trained_together_equal_seeds_trained_alone(variant):
    options, variant = _split(variant)
    cfg = train.TrainConfig(steps=20, log_every=5, lr_d=1e-3, lr_g=1e-3, **options)
    together, g2, d2 = _run([3, 7], cfg, **variant)
    for i, seed in enumerate([3, 7]):
        alone, g1, d1 = _run([seed], cfg, **variant)
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


@pytest.mark.parametrize("variant", [dict(noise=InstanceNoise(0.05)), SN_HINGE], ids=["noise", "spectral norm"])
def test_resume_after_interruption_gives_the_uninterrupted_result(tmp_path, variant):
    cfg = train.TrainConfig(steps=20, log_every=5, lr_d=1e-3, lr_g=1e-3)
    full, g_full, _ = _run([1], cfg, **variant)

    def stop_at_15(step, g, d, s):
        if step == 15:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run([1], cfg, hooks=[train.Hook("stop", 1, stop_at_15)], checkpoint=tmp_path / "run.pt", **variant)
    assert (tmp_path / "run.pt").exists()
    resumed, g_res, _ = _run([1], cfg, checkpoint=tmp_path / "run.pt", **variant)
    for p, q in zip(g_full.parameters(), g_res.parameters()):
        assert torch.equal(p, q)
    assert resumed.history.d_loss.tolist() == full.history.d_loss.tolist()


def test_resume_refuses_a_changed_config(tmp_path):
    _run([1], train.TrainConfig(steps=10, lr_d=1e-3), checkpoint=tmp_path / "run.pt")
    with pytest.raises(ValueError, match="lr_d: 0.001 -> 0.002"):
        _run([1], train.TrainConfig(steps=10, lr_d=2e-3), checkpoint=tmp_path / "run.pt")
    with pytest.raises(ValueError, match="parts:"):  # the parts' settings are part of the run
        _run([1], train.TrainConfig(steps=10, lr_d=1e-3), checkpoint=tmp_path / "run.pt", **R1)


def test_resume_with_a_hook_the_checkpoint_did_not_have(tmp_path):
    cfg = train.TrainConfig(steps=10, log_every=5)
    with pytest.raises(KeyboardInterrupt):
        _run([1], cfg, checkpoint=tmp_path / "run.pt", checkpoint_every=5,
             hooks=[train.Hook("stop", 1, _interrupt_at(7))])
    resumed, _, _ = _run([1], cfg, hooks=[train.samples_hook(n=3, every=5)], checkpoint=tmp_path / "run.pt")
    assert sorted(resumed.records["samples"]) == [5, 10]  # from the resumed step on


def _interrupt_at(n):
    def fn(step, g, d, s):
        if step == n:
            raise KeyboardInterrupt
    return fn


class NaNFromStep(data.GaussianMixture):
    """Real samples that turn NaN from the ``start``-th draw on (draws come in chunks of 8 steps)."""

    def __init__(self, centers, std, start):
        super().__init__(centers, std)
        object.__setattr__(self, "calls", [0])
        object.__setattr__(self, "start", start)

    def sample(self, shape, generator=None, device=None):
        self.calls[0] += 1
        x = super().sample(shape, generator, device)
        return x * float("nan") if self.calls[0] > self.start else x


def test_a_checkpoint_is_never_written_from_a_non_finite_state(tmp_path):
    # checkpoint_every (4) below log_every (100): the old loop saved NaN weights before it looked
    bad = NaNFromStep(RING.centers, 0.01, start=1)  # steps 1-8 finite, NaN from step 9
    path = tmp_path / "run.pt"
    with pytest.raises(FloatingPointError, match="run\\(s\\) 0 at step 9"):
        _run([0], train.TrainConfig(steps=16, log_every=100, nan_policy="raise"), dist=bad, checkpoint=path,
             checkpoint_every=4)
    state = torch.load(path, weights_only=False)
    assert state["step"] == 8
    assert all(torch.isfinite(v).all() for v in state["g"].values())


class NaNAfterFirst(data.GaussianMixture):
    def sample(self, shape, generator=None, device=None):
        return super().sample(shape, generator, device) * float("nan")


def test_nan_guard_records_or_raises():
    bad = NaNAfterFirst(RING.centers, 0.01)
    with pytest.warns(RuntimeWarning, match="non-finite loss in run\\(s\\) 0 at step 1"):
        result, _, _ = _run([0], train.TrainConfig(steps=10, log_every=5), dist=bad)
    assert result.diverged == {0: 1}  # where it happened, not the next log step
    with pytest.raises(FloatingPointError, match="step 1"):
        _run([0], train.TrainConfig(steps=10, log_every=5, nan_policy="raise"), dist=bad)


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=0), "steps must be an integer >= 1"),
    (dict(lr_d=float("inf")), "lr_d must be a number >= 0 and finite"),
    (dict(optimizer="sgd"), "unknown optimizer 'sgd'"),
    (dict(nan_policy="ignore"), "unknown nan_policy 'ignore'"),
])
def test_bad_config_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.TrainConfig(**{"steps": 10, **kwargs})


@pytest.mark.parametrize("make, match", [
    (lambda: objectives.get_objective("vanilla"), "unknown objective 'vanilla'"),
    (lambda: objectives.get_objective("nonsaturating", real_target=1.5), "real_target must be in \\(0, 1\\]"),
    (lambda: objectives.get_objective("wgan", real_target=0.9), "does not take the settings"),
    (lambda: Penalty("gp", 1.0), "unknown regularizer 'gp'"),
    (lambda: Penalty("r1", -1.0), "weight must be a number >= 0"),
    (lambda: InstanceNoise(-1.0), "sigma must be a number >= 0"),
    (lambda: InstanceNoise(float("inf")), "sigma must be a number >= 0 and finite"),
    (lambda: InstanceNoise(0.1, "step"), "unknown schedule 'step'"),
])
def test_bad_part_settings_name_the_parameter(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ------------------------------------------------------------------------------------------
# The public steps and the extension points, each on a toy batch.


def _toy_batch(seeds=(0,), batch=8):
    d = nets.mlp_discriminator(2, [8], list(seeds))
    real, fake = torch.randn(len(seeds), batch, 2), torch.randn(len(seeds), batch, 2)
    return d, real, fake


def test_d_step_minimises_the_objective_and_returns_its_metrics():
    d, real, fake = _toy_batch()
    opt = torch.optim.SGD(d.parameters(), lr=0.0)  # no update: the loss is the one of the given D
    m = train.d_step(d, opt, real, fake, objective=objectives.get_objective("nonsaturating"))
    expected = F.softplus(-d(real)).mean(-1) + F.softplus(d(fake)).mean(-1)
    assert torch.allclose(m["d_loss"], expected.detach())
    assert set(m) == {"d_loss", "p_real", "p_fake", "accuracy"}


def test_one_sided_label_smoothing_is_reachable_from_training():
    d, real, fake = _toy_batch()
    opt = torch.optim.SGD(d.parameters(), lr=0.0)
    smooth = train.d_step(d, opt, real, fake, objective=objectives.get_objective("nonsaturating", real_target=0.9))
    r = d(real)
    expected = (0.9 * F.softplus(-r) + 0.1 * F.softplus(r)).mean(-1) + F.softplus(d(fake)).mean(-1)
    assert torch.allclose(smooth["d_loss"], expected.detach())


class CountingTerm:
    """A D/G term that records what the loop prepared for it."""

    def __init__(self, needs, name="probe"):
        self.name, self.needs, self.seen = name, frozenset(needs), []

    def __call__(self, view, step, total):
        self.seen.append(view)
        return view.fake_out.score.sum(-1) * 0


def test_the_loop_prepares_only_what_a_term_needs():
    d, real, fake = _toy_batch()
    opt = torch.optim.SGD(d.parameters(), lr=0.0)
    obj = objectives.get_objective("nonsaturating")
    plain, grads = CountingTerm(()), CountingTerm({"real_grad"})
    train.d_step(d, opt, real, fake, objective=obj, terms=[plain])
    train.d_step(d, opt, real, fake, objective=obj, terms=[grads])
    assert not plain.seen[0].real.requires_grad and grads.seen[0].real.requires_grad
    assert not grads.seen[0].fake.requires_grad
    with pytest.raises(ValueError, match="has no forward_features"):
        train.d_step(d, opt, real, fake, objective=obj, terms=[CountingTerm({"features"})])
    with pytest.raises(ValueError, match="unknown need of probe 'grads'"):
        train.d_step(d, opt, real, fake, objective=obj, terms=[CountingTerm({"grads"})])


class TopTwo:
    """A selection part: the two highest-scored samples per run."""

    def __call__(self, out, step, total):
        return out.score.topk(2, dim=-1).indices


def test_g_step_applies_the_selection_before_the_loss():
    d, _, _ = _toy_batch()
    fake = torch.randn(1, 8, 2, requires_grad=True)
    opt = torch.optim.SGD([fake], lr=0.0)
    obj = objectives.get_objective("nonsaturating")
    m = train.g_step(d, opt, fake, objective=obj, selection=TopTwo())
    top = d(fake).topk(2, dim=-1).values
    assert torch.allclose(m["g_loss"], F.softplus(-top).mean(-1).detach())


def test_select_gathers_scores_and_features_of_the_kept_samples():
    out = parts.DOutput(torch.tensor([[1.0, 5.0, 3.0]]), {"h": torch.arange(6.0).reshape(1, 3, 2)})
    kept = parts.select(out, torch.tensor([[1, 2]]))
    assert kept.score.tolist() == [[5.0, 3.0]] and kept.features["h"].tolist() == [[[2.0, 3.0], [4.0, 5.0]]]


class ShiftLatent:
    """A latent step that records its call and moves every latent by a constant."""

    def __init__(self):
        self.calls = 0

    def __call__(self, z, g, d, objective, step, total):
        self.calls += 1
        return z + 1.0


def test_a_latent_step_runs_before_each_generator_forward_pass():
    step = ShiftLatent()
    _run([0], train.TrainConfig(steps=3, log_every=1), latent_step=step)
    assert step.calls == 3


def test_weight_clipping_is_a_constraint_after_each_d_step():
    _, _, d = _run([0], train.TrainConfig(steps=3, lr_d=0.1), **WGAN_CLIP)
    assert max(p.abs().max().item() for p in d.parameters()) <= 0.01 + 1e-9


def test_per_run_settings_train_variants_as_one_model():
    # runs 3 and 7 trained together with weights (0.0, 1.0) equal each trained alone with its own weight
    cfg = train.TrainConfig(steps=10, log_every=5, lr_d=1e-3, lr_g=1e-3)
    together, g2, _ = _run([3, 7], cfg, d_terms=[Penalty("r1", (0.0, 1.0))], noise=InstanceNoise((0.0, 0.2)))
    for i, (seed, w, s) in enumerate([(3, 0.0, 0.0), (7, 1.0, 0.2)]):
        alone, g1, _ = _run([seed], cfg, d_terms=[Penalty("r1", w)], noise=InstanceNoise(s))
        for p2, p1 in zip(g2.parameters(), g1.parameters()):
            assert torch.allclose(p2[i], p1[0], rtol=1e-4, atol=1e-5)


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
    opt = train.make_optimizer(torch.nn.Linear(2, 2).parameters(), 1e-3, (0.5, 0.999), torch.device("cpu"))
    assert opt.defaults["fused"] is True


def test_compile_defaults_to_off_on_the_cpu_and_on_on_cuda():
    assert train.use_compile("auto", "cpu") is False
    assert train.use_compile("auto", "cuda") is True
    assert train.use_compile(True, "cpu") is True and train.use_compile(False, "cuda") is False
    with pytest.raises(ValueError, match="unknown compile 'yes'"):
        train.use_compile("yes", "cpu")


@pytest.mark.parametrize("variant, d_compiled", [(dict(), True), (R1, False)])
def test_compile_wraps_g_always_and_d_only_without_double_backward(monkeypatch, variant, d_compiled):
    compiled = []

    def fake_compile(module, **kwargs):  # stands in for torch.compile (slow on this CPU), records its argument
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    result, g, d = _run([0], train.TrainConfig(steps=2, log_every=1), compile=True, **variant)
    assert compiled[0] is g and (d in compiled) == d_compiled


def test_d_scores_real_and_fake_in_one_call_only_when_that_is_safe():
    d = nets.mlp_discriminator(2, [4], [0])
    assert train.fuses_d_calls(d, frozenset()) is True
    assert train.fuses_d_calls(d, {"real_grad", "fake_grad"}) is False  # measured slower with Roth's double backward
    assert train.fuses_d_calls(d, {"features"}) is False
    assert train.fuses_d_calls(torch.nn.Linear(2, 1), frozenset()) is False  # no per_sample promise: two calls
    assert nets.DCGANDiscriminator(16, 8).per_sample is True


@pytest.mark.parametrize("variant", [dict(), WGAN_GP])
def test_one_fused_d_call_equals_two_calls(monkeypatch, variant):
    options, variant = _split(variant)
    cfg = train.TrainConfig(steps=15, log_every=5, lr_d=1e-3, lr_g=1e-3, **options)
    fused, g1, _ = _run([2, 5], cfg, **variant)
    monkeypatch.setattr(train, "fuses_d_calls", lambda d, needs: False)
    separate, g2, _ = _run([2, 5], cfg, **variant)
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


@pytest.mark.parametrize("variant", [dict(noise=InstanceNoise(0.1, "exponential")),
                                     dict(d_terms=[Penalty("roth", 0.1, schedule="linear")]),
                                     dict(d_terms=[Penalty("r1", (0.1, 0.2))], noise=InstanceNoise((0.1, 0.0))),
                                     WGAN_GP, WGAN_CLIP])
def test_training_steps_never_read_a_tensor_on_the_host(variant):
    options, variant = _split(variant)
    reads, per_step = HostReads(), {}

    def note(step, g, d, s):
        per_step[step] = reads.count

    cfg = train.TrainConfig(steps=12, log_every=6, lr_d=1e-3, lr_g=1e-3, **options)
    with reads:
        _run([0, 1], cfg, hooks=[train.Hook("note", 1, note)], **variant)
    steps = sorted(per_step)
    assert [per_step[b] - per_step[a] for a, b in zip(steps, steps[1:])] == [0] * (len(steps) - 1)


def test_per_run_learning_rates_train_as_each_run_alone():
    """Runs that differ only in their learning rate, as one seed-batched model, against each run alone."""
    from gancompanion import data
    from gancompanion.training import nets, streams, train

    def run(seeds, lr):
        g = nets.mlp_generator(2, [8], 2, seeds)
        d = nets.mlp_discriminator(2, [8], seeds)
        st = streams.ToyStreams(data.ring(), seeds, 16, 2)
        train.train(g, d, st, train.TrainConfig(steps=5, lr_d=lr, lr_g=lr, log_every=5), progress=False)
        return [p.detach() for p in g.parameters()]

    together = run([0, 0, 1], (1e-3, 1e-2, 3e-3))
    for i, (seed, lr) in enumerate([(0, 1e-3), (0, 1e-2), (1, 3e-3)]):
        alone = run([seed], lr)
        for a, b in zip(together, alone):
            assert torch.allclose(a[i], b[0], atol=1e-6)
    assert not torch.allclose(together[0][0], together[0][1])  # the rates did differ


def test_a_per_run_learning_rate_is_validated():
    from gancompanion.training import train

    with pytest.raises(ValueError, match="lr_d"):
        train.TrainConfig(steps=1, lr_d=(1e-3, -1.0))
    with pytest.raises(ValueError, match="lr_g must be a number >= 0 or a non-empty sequence"):
        train.TrainConfig(steps=1, lr_g=())
    with pytest.raises(ValueError, match="first axis has the 2 runs"):
        train.make_optimizer([torch.zeros(3, 4, requires_grad=True)], (1e-3, 1e-2), (0.5, 0.999), "cpu")


# --- learning-rate schedules ------------------------------------------------------------------------

def test_cosine_schedule_decays_to_its_floor_after_a_linear_warm_up():
    from gancompanion.training import lr_schedule as S

    f = [S.factor("cosine", 0.01, 2, 13, t) for t in range(13)]
    assert f[:2] == [0.5, 1.0] and f[2] == 1.0 and f[-1] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(f[2:], f[3:]))  # decreasing after the warm-up
    assert f[7] == pytest.approx(0.01 + 0.99 * 0.5)  # half-way through the decay: the mean of 1 and the floor
    assert [S.factor("constant", None, 0, 5, t) for t in range(5)] == [1.0] * 5
    assert S.factor("cosine", (0.01, 1.0), 0, 11, 10) == pytest.approx((0.01, 1.0))  # per run; 1 is constant


def test_the_loop_follows_the_schedule_for_one_and_per_run_rates(monkeypatch):
    from gancompanion.training import lr_schedule as S

    applied = []
    real_apply = S.apply
    monkeypatch.setattr(S, "apply", lambda opt, lr, f: (applied.append((lr, f)), real_apply(opt, lr, f)))
    cfg = train.TrainConfig(steps=6, lr_d=1e-3, lr_g=2e-3, lr_schedule="cosine", lr_floor=0.01, log_every=6)
    _, g, _ = _run([0], cfg)
    d_rates = [lr * f for lr, f in applied[::2]]
    assert d_rates[0] == pytest.approx(1e-3) and d_rates[-1] == pytest.approx(1e-5)
    # a per-run floor makes the rates per run: run 0 decays, run 1 keeps its rate (floor 1)
    cfg = train.TrainConfig(steps=6, lr_d=1e-3, lr_g=1e-3, lr_schedule="cosine", lr_floor=(0.01, 1.0), log_every=6)
    assert cfg.lr_d == (1e-3, 1e-3)
    _run([0, 1], cfg)


def test_a_scheduled_seed_batched_run_equals_each_run_alone():
    """Per-run floors (one run decays, the other is constant) as one model, against each run alone."""
    def run(seeds, floor, lr=3e-3):
        g = nets.mlp_generator(2, [8], 2, seeds)
        d = nets.mlp_discriminator(2, [8], seeds)
        st = streams.ToyStreams(data.ring(), seeds, 16, 2)
        cfg = train.TrainConfig(steps=6, lr_d=lr, lr_g=lr, lr_schedule="cosine", lr_floor=floor, lr_warmup=2,
                                log_every=6)
        train.train(g, d, st, cfg, progress=False)
        return [p.detach() for p in g.parameters()]

    together = run([0, 1], (0.01, 1.0))
    for i, (seed, floor) in enumerate([(0, 0.01), (1, 1.0)]):
        alone = run([seed], floor)
        for a, b in zip(together, alone):
            assert torch.allclose(a[i], b[0], atol=1e-6)


@pytest.mark.parametrize("lr", [1e-3, (1e-3, 3e-3)], ids=["one rate", "per run"])
def test_resume_mid_schedule_gives_identical_parameters(tmp_path, lr):
    cfg = train.TrainConfig(steps=20, log_every=5, lr_d=lr, lr_g=lr, lr_schedule="cosine", lr_floor=0.01,
                            lr_warmup=3)
    seeds = [1] if isinstance(lr, float) else [1, 2]
    full, g_full, _ = _run(seeds, cfg)

    def stop_at_13(step, g, d, s):
        if step == 13:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(seeds, cfg, hooks=[train.Hook("stop", 1, stop_at_13)], checkpoint=tmp_path / "run.pt")
    resumed, g_res, _ = _run(seeds, cfg, checkpoint=tmp_path / "run.pt")
    for p, q in zip(g_full.parameters(), g_res.parameters()):
        assert torch.equal(p, q)
    assert resumed.history.d_loss.tolist() == full.history.d_loss.tolist()
    # a changed schedule is another run: its checkpoint is refused
    with pytest.raises(ValueError, match="lr_floor"):
        _run(seeds, dataclasses_replace(cfg, lr_floor=0.1), checkpoint=tmp_path / "run.pt")


def dataclasses_replace(cfg, **kw):
    import dataclasses

    return dataclasses.replace(cfg, **kw)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr_schedule="step"), "unknown lr_schedule 'step'"),
    (dict(lr_schedule="cosine", lr_floor=1.5), "lr_floor must be a fraction in \\[0, 1\\]"),
    (dict(lr_schedule="cosine", lr_floor=()), "lr_floor must be a fraction"),
    (dict(lr_floor=0.01), "lr_floor is the cosine schedule's end point"),
    (dict(lr_warmup=10), "lr_warmup must be an integer in \\[0, steps\\)"),
    (dict(lr_warmup=-1), "lr_warmup must be an integer"),
    (dict(lr_schedule="cosine", lr_floor=(0.1, 0.1, 0.1), lr_d=(1e-3, 1e-3)), "different numbers of runs"),
])
def test_bad_schedule_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train.TrainConfig(**{"steps": 10, **kwargs})


# --- a resume with a changed set-up (the data stream, the networks) is refused, naming what changed --------

def _run_with(tmp_path, *, dist=RING, batch_size=32, latent_dim=2, hidden=(16, 16), steps=10):
    st = streams.ToyStreams(dist, [1], batch_size=batch_size, latent_dim=latent_dim, chunk=8)
    g = nets.mlp_generator(latent_dim, list(hidden), 2, [1])
    d = nets.mlp_discriminator(2, list(hidden), [1])
    return train.train(g, d, st, train.TrainConfig(steps=steps, lr_d=1e-3), checkpoint=tmp_path / "run.pt",
                       checkpoint_every=5, progress=False)


@pytest.mark.parametrize("change, match", [
    (dict(dist=data.ring(radius=3.0)), r"data\.dataset: 'GaussianMixture\(centers=tensor"),
    (dict(batch_size=16), r"data\.batch_size: 32 -> 16"),
    (dict(latent_dim=3), r"data\.latent_dim: 2 -> 3"),
    (dict(hidden=(16, 8)), r"networks\.(d|g): "),
])
def test_resume_refuses_another_data_stream_or_architecture(tmp_path, change, match):
    _run_with(tmp_path)  # complete: its checkpoint holds the whole history
    with pytest.raises(ValueError, match=r"was written by a different run \(.*" + match):
        _run_with(tmp_path, **change)
    _run_with(tmp_path)  # the same set-up still resumes


def test_resume_refuses_another_dataset_of_the_same_shape(tmp_path):
    def run(images):
        st = streams.DatasetStreams(images, batch_size=8, latent_dim=2, seed=0)
        torch.manual_seed(0)
        g, d = torch.nn.Linear(2, 4), torch.nn.Sequential(torch.nn.Linear(4, 1), torch.nn.Flatten(0))
        return train.train(g, d, st, train.TrainConfig(steps=4, lr_d=1e-3), checkpoint=tmp_path / "img.pt",
                           checkpoint_every=2, progress=False, compile=False)

    first = torch.randn(32, 4, generator=torch.Generator().manual_seed(0))
    run(first)
    with pytest.raises(ValueError, match=r"data\.dataset: '\(32, 4\):torch.float32:"):
        run(first + 1)


def test_an_unreadable_checkpoint_is_named(tmp_path):
    (tmp_path / "run.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"checkpoint .*run.pt' cannot be read .*delete it"):
        _run_with(tmp_path)


@pytest.mark.parametrize("every", [0, -1, 1.5, "5"])
def test_checkpoint_every_must_be_a_positive_integer(tmp_path, every):
    with pytest.raises(ValueError, match="checkpoint_every must be an integer >= 1"):
        _run([1], train.TrainConfig(steps=4), checkpoint=tmp_path / "run.pt", checkpoint_every=every)
    assert not (tmp_path / "run.pt").exists()


@pytest.mark.parametrize("lr", ["fast", None, True, ("fast",), [1e-3, "x"]])
def test_a_learning_rate_that_is_not_a_number_is_named(lr):
    with pytest.raises(ValueError, match="lr_d must be a number >= 0 or a non-empty sequence"):
        train.TrainConfig(steps=1, lr_d=lr)
