import math

import pytest
import torch

from gancompanion.techniques import ebgan
from gancompanion.training import objectives, parts, streams, train
from gancompanion import data


def test_pulling_away_known_answers():
    eye = torch.eye(4).unsqueeze(0)  # orthogonal embeddings
    assert ebgan.pulling_away(eye).item() == pytest.approx(0.0, abs=1e-7)
    same = torch.ones(2, 5, 3) * torch.tensor([1.0, 2.0, 3.0])  # identical embeddings
    assert torch.allclose(ebgan.pulling_away(same), torch.ones(2))
    pair = torch.tensor([[[1.0, 0.0], [1.0, 1.0]]])  # cos 45 deg: PT = cos^2 = 1/2
    assert ebgan.pulling_away(pair).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="at least 2"):
        ebgan.pulling_away(torch.ones(1, 1, 3))


def test_margin_objective_values():
    obj = objectives.get_objective("ebgan", margin=2.0)
    real, fake = torch.tensor([[0.5, 1.5]]), torch.tensor([[1.0, 3.0]])
    assert obj.d_loss(real, fake).item() == pytest.approx(1.0 + (1.0 + 0.0) / 2)
    assert obj.g_loss(fake).item() == pytest.approx(2.0)
    assert set(obj.metrics(real, fake)) == {"energy_real", "energy_fake"}
    with pytest.raises(ValueError, match="margin"):
        objectives.get_objective("ebgan", margin=0.0)


def test_autoencoder_energy_and_features():
    d = ebgan.AutoencoderD(2, [16], 4, seeds=[0, 1])
    x = torch.randn(2, 7, 2)
    e = d(x)
    out = parts.discriminate(d, x, features=True)
    assert e.shape == (2, 7) and torch.all(e >= 0)
    assert torch.allclose(out.score, e) and out.features["embedding"].shape == (2, 7, 4)
    recon = d.decoder(d.encoder(x))
    assert torch.allclose(e, (recon - x).norm(dim=-1), atol=1e-5)


def test_ebgan_trains_with_pulling_away():
    from gancompanion.training import nets
    toy = data.ring()
    g = nets.mlp_generator(2, [16], 2, [0, 1])
    d = ebgan.AutoencoderD(2, [16], 4, [0, 1])
    st = streams.ToyStreams(toy, [0, 1], 32, 2)
    res = train.train(g, d, st, train.TrainConfig(steps=5, log_every=5), objective=objectives.get_objective("ebgan"),
                      g_terms=[ebgan.PullingAway(0.1)], progress=False)
    assert {"d_loss", "g_loss", "pulling_away"} <= set(res.history.columns)
    assert res.history[["d_loss", "g_loss"]].notna().all().all()
    with pytest.raises(ValueError, match="weight"):
        ebgan.PullingAway(-1)


def test_bad_names_and_weights():
    from gancompanion.techniques import d_terms
    with pytest.raises(ValueError, match="unknown objective 'ebgan2'"):
        objectives.get_objective("ebgan2")
    with pytest.raises(ValueError, match="weight"):
        d_terms.Penalty("wgan_gp", -1.0)
