import pytest
import torch

from gancompanion.techniques.noise import InstanceNoise, anneal


def test_schedules():
    assert anneal(2.0, 50, 100, "fixed") == 2.0
    assert anneal(2.0, 50, 100, "linear") == pytest.approx(1.0)
    assert anneal(2.0, 100, 100, "exponential", decay=0.01) == pytest.approx(0.02)
    assert anneal(2.0, 50, 100, "exponential", decay=0.01) == pytest.approx(0.2)


def test_noise_is_added_with_the_scheduled_std():
    noise = InstanceNoise(0.5, "linear")
    x, eps = torch.zeros(4), torch.ones(4)
    assert torch.allclose(noise(x, eps, step=0, total=10), torch.full((4,), 0.5))
    assert torch.allclose(noise(x, eps, step=10, total=10), x)


def test_bad_noise_settings_name_the_parameter():
    with pytest.raises(ValueError, match="sigma must be a number >= 0"):
        InstanceNoise(-0.1)
    with pytest.raises(ValueError, match="unknown schedule 'cosine'.*'fixed'"):
        InstanceNoise(0.1, "cosine")
    with pytest.raises(ValueError, match="decay"):
        InstanceNoise(0.1, "exponential", decay=0.0)
