import pytest
import torch

from gancompanion.training import nets


def test_seed_batched_mlp_shapes():
    g = nets.mlp_generator(2, [16, 16], 3, seeds=[0, 1, 2])
    d = nets.mlp_discriminator(3, [16, 16], seeds=[0, 1, 2])
    x = g(torch.randn(3, 10, 2))
    assert x.shape == (3, 10, 3)
    assert d(x).shape == (3, 10)


def test_each_run_is_the_network_its_seed_gives_alone():
    both = nets.mlp_discriminator(2, [8], seeds=[3, 5])
    alone = [nets.mlp_discriminator(2, [8], seeds=[s]) for s in (3, 5)]
    for p_both, p3, p5 in zip(both.parameters(), *[a.parameters() for a in alone]):
        assert torch.equal(p_both[0], p3[0]) and torch.equal(p_both[1], p5[0])
    x = torch.randn(2, 4, 2)
    out = both(x)
    assert torch.allclose(out[1], alone[1](x[1:2])[0], atol=1e-6)


def test_generator_and_discriminator_inits_differ():
    g = nets.MLP([2, 4], [0], "G")
    d = nets.MLP([2, 4], [0], "D")
    assert not torch.equal(g[0].weight, d[0].weight)


def test_truncated_normal_init():
    m = nets.MLP([64, 256], [0], "G", init_std=0.1)
    w = m[0].weight
    assert w.abs().max() <= 0.2 + 1e-6 and abs(w.std().item() - 0.088) < 0.01  # std of N(0, .1) cut at 2 std
    assert torch.all(m[0].bias == 0)


@pytest.mark.parametrize("size", [8, 16, 32])
def test_dcgan_shapes(size):
    g = nets.DCGANGenerator(latent_dim=4, image_size=size, width=8)
    d = nets.DCGANDiscriminator(image_size=size, width=8)
    x = g(torch.randn(2, 5, 4))
    assert x.shape == (2, 5, 1, size, size)
    assert x.abs().max() <= 1
    assert d(x).shape == (2, 5)


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="image_size"):
        nets.DCGANGenerator(image_size=20)
    with pytest.raises(ValueError, match="activation.*tanh"):
        nets.mlp_generator(2, [4], 2, [0], activation="gelu")
    with pytest.raises(ValueError, match="seeds"):
        nets.mlp_generator(2, [4], 2, [])


@pytest.mark.parametrize("sizes", [[2, 0, 1], [2, -3, 1], [2, 1.5, 1]])
def test_an_mlp_with_a_layer_of_no_width_is_refused(sizes):
    with pytest.raises(ValueError, match=r"sizes must be layer widths, integers >= 1"):
        nets.MLP(sizes, [0], "G")


def test_a_latent_without_the_runs_axis_is_named():
    g = nets.mlp_generator(2, [8], 2, [0, 1])
    with pytest.raises(ValueError, match=r"inputs shaped \(runs, batch, 2\) with runs = 2, got \(5, 2\)"):
        g(torch.zeros(5, 2))
    assert g(torch.zeros(2, 5, 2)).shape == (2, 5, 2)
