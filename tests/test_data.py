import gzip
import math
import pickle

import numpy as np
import pytest
import torch

from gancompanion import data


def test_ring_follows_veegan_convention():
    ring = data.ring()
    assert ring.centers.shape == (8, 2)
    assert torch.allclose(ring.centers.norm(dim=1), torch.ones(8))
    x = ring.sample((3, 500), torch.Generator().manual_seed(0))
    assert x.shape == (3, 500, 2)
    nearest = torch.cdist(x.reshape(-1, 2), ring.centers).min(dim=1).values
    assert nearest.max() < 6 * 0.01 * math.sqrt(2)  # all within a few std of a mode


def test_grid_has_25_modes_at_even_coordinates():
    grid = data.grid()
    assert sorted(set(grid.centers[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    assert grid.centers.shape == (25, 2)


def test_sampling_is_reproducible_with_a_generator():
    a = data.grid().sample(100, torch.Generator().manual_seed(5))
    b = data.grid().sample(100, torch.Generator().manual_seed(5))
    c = data.grid().sample(100, torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_diracs_have_no_spread():
    x = data.gaussians_1d([0.0, 2.0]).sample(1000)
    assert set(x.flatten().tolist()) == {0.0, 2.0}


def test_ring7_3d_lies_on_the_rotated_plane():
    toy = data.ring7_3d()
    x = toy.sample(2000, torch.Generator().manual_seed(0))
    assert x.shape == (2000, 3)
    assert toy.distance_off(x).max() < 1e-5
    # the plane passes through the offset and is tilted out of z = const
    assert torch.allclose(toy.centers.mean(0), toy.offset, atol=1e-6)
    assert toy.centers[:, 2].std() > 0.1
    # a point moved along the plane's normal is that far off the plane
    normal = torch.linalg.cross(toy.matrix[0], toy.matrix[1])
    assert torch.allclose(toy.distance_off(toy.centers + 0.3 * normal), torch.full((7,), 0.3), atol=1e-5)


def test_rotation_is_orthogonal():
    r = data.rotation((1.0, -1.0, 0.0), math.pi / 4)
    assert torch.allclose(r @ r.T, torch.eye(3, dtype=r.dtype), atol=1e-12)
    axis = torch.tensor([1.0, -1.0, 0.0], dtype=r.dtype) / math.sqrt(2)
    assert torch.allclose(r @ axis, axis)


def test_curve_points_lie_on_the_curve():
    c = data.Curve(offset=0.3)
    x = c.sample(100)
    assert torch.allclose(x[:, 1], 0.5 * torch.sin(math.pi * x[:, 0]) + 0.3, atol=1e-6)


@pytest.mark.parametrize("size", [8, 16])
def test_digits_are_in_range(size):
    x = data.load_digits(size)
    assert x.shape == (1797, 1, size, size)
    assert x.min() >= -1 and x.max() <= 1


def test_digits_bad_size_names_parameter():
    with pytest.raises(ValueError, match="image_size.*8, 16, 32, 64"):
        data.load_digits(12)


def test_negative_std_is_refused():
    with pytest.raises(ValueError, match="std"):
        data.GaussianMixture(torch.zeros(1, 2), -0.1)


def _write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_read_mnist_from_a_local_folder(tmp_path):
    images = np.arange(3 * 4 * 5).reshape(3, 4, 5) % 256
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images, 2051)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([7, 1, 2]), 2049)
    x, y = data.read_mnist(tmp_path)
    assert x.shape == (3, 1, 4, 5) and y.tolist() == [7, 1, 2]
    assert x[0, 0, 0, 1].item() == pytest.approx(1 / 127.5 - 1)


def test_read_cifar10_from_a_local_folder(tmp_path):
    batch = {b"data": np.full((2, 3072), 255, dtype=np.uint8), b"labels": [3, 4]}
    (tmp_path / "data_batch_1").write_bytes(pickle.dumps(batch))
    x, y = data.read_cifar10(tmp_path)
    assert x.shape == (2, 3, 32, 32) and torch.all(x == 1.0) and y.tolist() == [3, 4]


def test_missing_data_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        data.read_mnist(tmp_path / "does-not-exist")
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 train batches"):
        data.read_cifar10(tmp_path)
