import numpy as np
import pytest
import torch

from gancompanion.evaluation import classifier as C


def test_score_is_one_for_a_constant_prediction():
    p = np.tile([0.1, 0.7, 0.2], (50, 1))
    assert C.classifier_score(p) == pytest.approx(1.0)


@pytest.mark.parametrize("k", [2, 5, 10])
def test_score_is_k_for_perfect_uniform_classes(k):
    p = np.eye(k)[np.arange(10 * k) % k]  # one-hot, every class equally often
    assert C.classifier_score(p) == pytest.approx(k)
    runs = np.stack([p, np.tile(np.eye(k)[0], (10 * k, 1))])  # (2, N, K): perfect and collapsed
    assert np.allclose(C.classifier_score(runs), [k, 1.0])


def test_frechet_distance_known_values():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 4))
    assert C.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    assert C.frechet_distance(a, a + 3.0) == pytest.approx(4 * 9.0, rel=1e-6)  # a shift moves only the mean
    with pytest.raises(ValueError, match="feature sets"):
        C.frechet_distance(a, a[:, :3])


def test_split_is_fixed_and_disjoint():
    x1, y1, t1, _ = C.digits_split(seed=0)
    x2, _, t2, _ = C.digits_split(seed=0)
    assert torch.equal(x1, x2) and torch.equal(t1, t2) and len(x1) + len(t1) == 1797
    assert x1.shape[1] == 64 and x1.min() >= -1 and x1.max() <= 1 and y1.max() == 9


@pytest.fixture(scope="module")
def small():
    xtr, ytr, xte, yte = C.digits_split()
    return xtr[:300], ytr[:300], xte[:100], yte[:100]


def test_cache_is_used_retrained_or_refused(tmp_path, small):
    xtr, ytr, xte, yte = small
    cfg = C.ClassifierConfig(epochs=2)
    path = tmp_path / "clf.pt"
    m1, acc1 = C.load_or_train(xtr, ytr, xte, yte, cache=path, config=cfg, verbose=False)
    assert path.exists()
    m2, acc2 = C.load_or_train(xtr, ytr, xte, yte, cache=path, config=cfg, verbose=False)
    assert acc1 == acc2 and all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    with pytest.warns(RuntimeWarning, match="another config"):
        C.load_or_train(xtr, ytr, xte, yte, cache=path, config=C.ClassifierConfig(epochs=1), verbose=False)
    path.write_bytes(b"not a checkpoint")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        C.load_or_train(xtr, ytr, xte, yte, cache=path, config=cfg, verbose=False)
    with pytest.raises(ValueError, match="different data set.*cache"):
        C.load_or_train(xtr[:200], ytr[:200], xte, yte, cache=path, config=cfg, verbose=False)


def test_what_is_drawn_after_does_not_depend_on_a_warm_cache(tmp_path, small):
    """A chapter's later random numbers are the same whether the classifier was trained now or loaded."""
    xtr, ytr, xte, yte = small
    cfg, path = C.ClassifierConfig(epochs=1), tmp_path / "clf.pt"
    after = []
    for _ in range(2):  # cold cache (trains), then warm (loads)
        torch.manual_seed(123)
        C.load_or_train(xtr, ytr, xte, yte, cache=path, config=cfg, verbose=False)
        after.append(torch.rand(5))
    assert torch.equal(after[0], after[1])


def test_classifier_shapes_and_bad_config():
    m = C.DigitsClassifier()
    assert m(torch.randn(3, 5, 64)).shape == (3, 5, 10) and m.embed(torch.randn(2, 1, 8, 8)).shape == (2, 128)
    with pytest.raises(ValueError, match="epochs"):
        C.ClassifierConfig(epochs=0)
