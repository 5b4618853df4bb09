"""The part protocol's rules: distinct names, an explicit checkpoint identity, a random stream per part."""

import pytest
import torch

from gancompanion import data
from gancompanion.techniques.d_terms import Penalties, Penalty
from gancompanion.techniques.noise import InstanceNoise
from gancompanion.training import nets, parts, streams, train

CFG = train.TrainConfig(steps=6, log_every=2, lr_d=1e-3, lr_g=1e-3)


def _run(seeds=(0,), checkpoint=None, **recipe):
    st = streams.ToyStreams(data.ring(), seeds, batch_size=16, latent_dim=2, chunk=4)
    g, d = nets.mlp_generator(2, [8], 2, seeds), nets.mlp_discriminator(2, [8], seeds)
    return train.train(g, d, st, CFG, checkpoint=checkpoint, progress=False, **recipe)


class Draws(parts.Part):
    """A D term that draws standard normals from its own stream and adds nothing to the loss."""

    needs = frozenset()

    def __init__(self, stream: str, name: str = "draws"):
        self.stream, self.name = stream, name

    def __repr__(self) -> str:
        return f"Draws({self.stream!r}, name={self.name!r})"

    def __call__(self, v, step, total):
        return 0.0 * v.streams.noise(self.stream).sum(dim=(-2, -1))


class NoIdentity:
    """A D term written from scratch without a checkpoint_id."""

    name, needs = "plain", frozenset()

    def __call__(self, v, step, total):
        return torch.zeros(v.real_out.score.shape[:-1])


def test_penalties_of_different_kinds_have_different_default_names():
    names = [Penalty(kind, 1.0).name for kind in ("roth", "r1", "r2", "wgan_gp")]
    assert len(set(names)) == len(names)
    history = _run(d_terms=[Penalty("r1", 1.0), Penalty("r2", 1.0)]).history
    assert {"r1_penalty", "r2_penalty"} <= set(history.columns)


def test_two_terms_with_one_name_are_refused_naming_both():
    with pytest.raises(ValueError, match=r"two parts are both named 'gp': Penalty\('r1'.*name='gp'\) and "
                                         r"Penalty\('r2'.*name='gp'\)"):
        _run(d_terms=[Penalty("r1", 1.0, name="gp"), Penalty("r2", 1.0, name="gp")])
    with pytest.raises(ValueError, match="both named 'penalties'"):  # a D term and a G term share the history
        _run(d_terms=[Penalties([Penalty("r1", 1.0)])], g_terms=[Draws("g_draws", name="penalties")])


def test_a_step_called_alone_refuses_two_terms_with_one_name():
    st = streams.ToyStreams(data.ring(), [0], batch_size=8, latent_dim=2)
    d = nets.mlp_discriminator(2, [8], [0])
    opt = torch.optim.Adam(d.parameters())
    with pytest.raises(ValueError, match="both named 'draws'"):
        train.d_step(d, opt, st.real(), st.real(), objective=train.get_objective("nonsaturating"),
                     terms=(Draws("a"), Draws("b")), streams=st)


def test_a_part_without_checkpoint_id_trains_but_is_refused_when_checkpointing(tmp_path):
    assert "plain" in _run(d_terms=[NoIdentity()]).history.columns
    with pytest.raises(TypeError, match="part NoIdentity has no checkpoint_id"):
        _run(d_terms=[NoIdentity()], checkpoint=tmp_path / "ckpt.pt")


def test_every_part_of_the_library_has_its_repr_as_checkpoint_id():
    for part in (InstanceNoise(0.1), Penalty("wgan_gp", 1.0), Penalties([Penalty("roth", 1.0)]), Draws("x")):
        assert part.checkpoint_id == repr(part)
    assert parts.describe([Penalty("r1", 1.0, name="mine")]) == "[Penalty('r1', weight=1.0, schedule='fixed', " \
                                                                 "decay=0.01, name='mine')]"


def test_a_part_drawing_from_its_own_stream_leaves_instance_noise_unchanged():
    noise = InstanceNoise(0.3)
    alone = _run(noise=noise).history
    beside = _run(noise=noise, d_terms=[Draws("extra")]).history
    assert torch.equal(torch.tensor(alone.d_loss.values), torch.tensor(beside.d_loss.values))


def test_two_parts_on_one_stream_are_refused():
    with pytest.raises(ValueError, match="two parts draw from the random stream 'noise'"):
        _run(noise=InstanceNoise(0.3), d_terms=[Draws("noise")])
    with pytest.raises(ValueError, match="stream 'uniform'"):
        _run(objective="wgan", d_terms=[Penalty("wgan_gp", 1.0), Penalty("wgan_gp_one_sided", 1.0)])
    _run(objective="wgan", d_terms=[Penalty("wgan_gp", 1.0), Penalty("wgan_gp_one_sided", 1.0, stream="gp2")])


def test_part_streams_with_a_common_prefix_are_independent():
    st = streams.ToyStreams(data.ring(), [0], batch_size=8, latent_dim=2)
    a, b, noise = st.noise("term_a"), st.noise("term_b"), streams.ToyStreams(data.ring(), [0], 8, 2).noise()
    assert not torch.equal(a, b) and not torch.equal(a, noise)
    assert torch.equal(streams.ToyStreams(data.ring(), [0], 8, 2).noise("term_a"), a)


def test_a_part_cannot_draw_from_the_loops_own_streams():
    st = streams.ToyStreams(data.ring(), [0], batch_size=8, latent_dim=2)
    with pytest.raises(ValueError, match="the stream 'latent' is the loop's own"):
        st.noise("latent")


@pytest.mark.parametrize("make", [lambda: streams.ToyStreams(data.ring(), [0, 1], batch_size=8, latent_dim=2, chunk=2),
                                  lambda: streams.DatasetStreams(torch.arange(40.0).reshape(20, 2), 4, 2, seed=0)],
                         ids=["toy", "dataset"])
def test_loading_a_state_undoes_every_draw_since_part_streams_included(make):
    st = make()
    state = st.state_dict()  # saved before anything was drawn, as a trial run's caller does
    first = [st.real(), st.latent(), st.noise(), st.noise("mine")]
    for _ in range(3):
        st.real(), st.latent(), st.noise("mine")
    st.load_state_dict(state)
    again = [st.real(), st.latent(), st.noise(), st.noise("mine")]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
