"""A digits classifier and the sample-quality scores measured with it.

Salimans et al. (2016, sec. 4) score a generator by ``exp(E_x KL(p(y|x) || p(y)))`` with an Inception
network's p(y|x): high when every sample is classified confidently (low-entropy p(y|x)) and the classes
are used evenly (high-entropy p(y)). On the 8x8 digits we use a small CNN trained here, once, and cached
on disk; the Frechet distance (Heusel et al. 2017) is measured in its penultimate layer. The score of real
held-out digits is the reference: a generator should approach it from below.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..device import generator
from ..files import project_root, torch_save
from ..validation import fraction, positive, positive_int, seed as check_seed

Tensor = torch.Tensor
N_CLASSES = 10


def digits_split(test_fraction: float = 0.25, seed: int = 0, device=None):
    """scikit-learn's digits as flat vectors in [-1, 1]: ``(x_train, y_train, x_test, y_test)``.

    The split is a fixed permutation drawn from ``seed``; ``x`` is (N, 64) float, ``y`` (N,) int64.
    """
    from sklearn.datasets import load_digits as _load

    from ..data import load_digits

    test_fraction = fraction("test_fraction", test_fraction)
    x = load_digits(8).reshape(-1, 64)
    y = torch.from_numpy(_load().target.astype(np.int64))
    perm = torch.randperm(len(x), generator=generator(check_seed(seed), "digits-split"))
    n_test = int(round(test_fraction * len(x)))
    test, train = perm[:n_test], perm[n_test:]
    dev = device or "cpu"
    return x[train].to(dev), y[train].to(dev), x[test].to(dev), y[test].to(dev)


def fingerprint(x: Tensor, y: Tensor | None = None) -> str:
    """A short hash of a data set's bytes (what a cached classifier was trained on)."""
    h = hashlib.sha256(x.detach().cpu().contiguous().numpy().tobytes())
    if y is not None:
        h.update(y.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class DigitsClassifier(nn.Module):
    """A small CNN for 8x8 digits: two 3x3 convolutions (ReLU), 2x2 max pooling, a 128-unit layer, 10 logits.

    Accepts ``(..., 64)`` flat vectors or ``(..., 1, 8, 8)`` images; ``features`` gives the 128-unit layer.
    """

    def __init__(self, width: int = 16, hidden: int = 128, dropout: float = 0.3):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),  # (w, 8, 8)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (2w, 4, 4)
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * 16, hidden), nn.ReLU())
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, N_CLASSES))

    def _images(self, x: Tensor) -> tuple[Tensor, tuple]:
        lead = x.shape[:-1] if x.shape[-1] == 64 else x.shape[:-3]
        return x.reshape(-1, 1, 8, 8), lead

    def features(self, x: Tensor) -> Tensor:
        images, lead = self._images(x)
        return self.conv(images).reshape(*lead, -1)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(self.features(x))

    @torch.no_grad()
    def probabilities(self, x: Tensor, batch: int = 2048) -> Tensor:
        """p(y|x) in evaluation mode, ``(..., 10)``."""
        was = self.training
        self.eval()
        flat, lead = self._images(x)
        out = torch.cat([torch.softmax(self(flat[i:i + batch]), -1) for i in range(0, len(flat), batch)])
        self.train(was)
        return out.reshape(*lead, N_CLASSES)

    @torch.no_grad()
    def embed(self, x: Tensor, batch: int = 2048) -> Tensor:
        """The 128-unit features in evaluation mode, ``(..., 128)``."""
        was = self.training
        self.eval()
        flat, lead = self._images(x)
        out = torch.cat([self.features(flat[i:i + batch]) for i in range(0, len(flat), batch)])
        self.train(was)
        return out.reshape(*lead, -1)


@dataclass(frozen=True)
class ClassifierConfig:
    """How the classifier is trained (a cache trained otherwise is retrained)."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    width: int = 16
    seed: int = 0
    shift: int = 1  # random translations by up to this many pixels (data augmentation)

    def __post_init__(self):
        positive_int("epochs", self.epochs), positive_int("batch_size", self.batch_size)
        positive("lr", self.lr), positive_int("width", self.width), check_seed(self.seed)
        if self.shift not in (0, 1, 2):
            raise ValueError(f"shift must be 0, 1 or 2 pixels, got {self.shift!r}")


def _shift(x: Tensor, k: int, gen: torch.Generator) -> Tensor:
    """Translate each image by a random offset in [-k, k]^2, padding with the background (-1)."""
    if k == 0:
        return x
    padded = nn.functional.pad(x, (k, k, k, k), value=-1.0)
    dx, dy = torch.randint(0, 2 * k + 1, (2,), generator=gen).tolist()
    return padded[..., dy:dy + 8, dx:dx + 8]


def train_classifier(x: Tensor, y: Tensor, config: ClassifierConfig = ClassifierConfig()) -> DigitsClassifier:
    """Train a ``DigitsClassifier`` on ``x`` (N, 64) and labels ``y`` (N,) with Adam and cross-entropy.

    Its initialisation and dropout draw from torch's global generator seeded with ``config.seed`` inside
    ``torch.random.fork_rng``, so training leaves the caller's random state as it found it: a chapter draws
    the same numbers afterwards whether the classifier was trained now or loaded from its cache.
    """
    with torch.random.fork_rng(devices=[x.device] if x.device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        gen = generator(config.seed, "classifier")
        model = DigitsClassifier(config.width).to(x.device)
        opt = torch.optim.Adam(model.parameters(), lr=config.lr)
        images = x.reshape(-1, 1, 8, 8)
        model.train()
        for _ in range(config.epochs):
            order = torch.randperm(len(x), generator=gen).to(x.device)
            for i in range(0, len(x), config.batch_size):
                idx = order[i:i + config.batch_size]
                loss = nn.functional.cross_entropy(model(_shift(images[idx], config.shift, gen)), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    model.eval()
    return model


def accuracy(model: DigitsClassifier, x: Tensor, y: Tensor) -> float:
    """Fraction of ``x`` classified as ``y``."""
    return float((model.probabilities(x).argmax(-1) == y).float().mean())


def default_cache(data_id: str) -> Path:
    """``_build/cache/digits_classifier-<data_id>.pt`` of the project, else in ``./gancompanion-cache/``: one
    file per data set, so that a changed split trains its own classifier instead of meeting another's."""
    root = project_root(required=False)
    return (root / "_build" / "cache" if root else Path.cwd() / "gancompanion-cache") / f"digits_classifier-{data_id}.pt"


def load_or_train(x_train: Tensor, y_train: Tensor, x_test: Tensor, y_test: Tensor, cache=None,
                  config: ClassifierConfig = ClassifierConfig(), verbose: bool = True):
    """The classifier trained on ``(x_train, y_train)``, from ``cache`` if it holds exactly that one.

    A missing or unreadable cache file, or one trained with another ``config``, is retrained (and rewritten
    atomically). The default cache is one file per data set (``default_cache``); a cache path given that
    holds a classifier of another data set is an error naming ``cache``: pass another path.

    Returns:
        ``(model, test_accuracy)``; the accuracy on ``(x_test, y_test)`` is printed when ``verbose``.
    """
    data_id = fingerprint(x_train, y_train)
    path = Path(cache) if cache is not None else default_cache(data_id)
    state = None
    if path.exists():
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
            state["config"], state["data"], state["model"]  # noqa: B018 (a key check)
        except Exception as err:  # a truncated or foreign file: retrain, never use it
            warnings.warn(f"classifier cache {str(path)!r} is unreadable ({type(err).__name__}); retraining",
                          RuntimeWarning)
            state = None
    if state is not None and state["data"] != data_id:
        raise ValueError(f"classifier cache {str(path)!r} was trained on a different data set (fingerprint "
                         f"{state['data']}, this one {data_id}); pass another cache path (parameter 'cache')")
    if state is not None and state["config"] != asdict(config):
        warnings.warn(f"classifier cache {str(path)!r} was trained with another config; retraining", RuntimeWarning)
        state = None
    model = DigitsClassifier(config.width).to(x_train.device)
    if state is None:
        model = train_classifier(x_train, y_train, config)
        torch_save({"config": asdict(config), "data": data_id,
                    "model": {k: v.cpu() for k, v in model.state_dict().items()}}, path)
    else:
        model.load_state_dict(state["model"])
        model.eval()
    acc = accuracy(model, x_test, y_test)
    if verbose:
        print(f"digits classifier: test accuracy {acc:.4f} on {len(x_test)} held-out digits")
    return model, acc


# --------------------------------------------------------------------------------------------
# Scores


def classifier_score(probs) -> np.ndarray:
    """``exp(E_x KL(p(y|x) || p(y)))`` with p(y) the mean of p(y|x) over the samples (Salimans et al. 2016).

    Args:
        probs: ``(N, K)`` or ``(*runs, N, K)`` rows of p(y|x).
    Returns:
        one score per run (a 0-d array for ``(N, K)``); between 1 (every sample gets the same p(y|x))
        and K (confident, evenly spread over the K classes).
    """
    p = np.asarray(probs.detach().cpu().numpy() if hasattr(probs, "detach") else probs, dtype=np.float64)
    if p.ndim < 2:
        raise ValueError(f"probs must be (N, K) or (*runs, N, K), got shape {p.shape}")
    marginal = p.mean(-2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0).sum(-1)  # (*runs, N)
    return np.exp(kl.mean(-1))


def frechet_distance(a, b) -> float:
    """``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^{1/2})`` between Gaussians fitted to two sets of
    feature vectors ``(N, F)`` and ``(M, F)`` (Heusel et al. 2017)."""
    from scipy import linalg

    a = np.asarray(a.detach().cpu().numpy() if hasattr(a, "detach") else a, dtype=np.float64)
    b = np.asarray(b.detach().cpu().numpy() if hasattr(b, "detach") else b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"feature sets must be (N, F) and (M, F) with N, M >= 2, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # dead ReLU units make the covariances singular: sqrtm still works
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s_a @ s_b)
        if not np.isfinite(covmean).all():  # regularise as Heusel et al.'s code
            eps = 1e-6 * np.eye(a.shape[1])
            covmean = linalg.sqrtm((s_a + eps) @ (s_b + eps))
    covmean = np.real(covmean)
    return float(max(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * covmean), 0.0))


def score_samples(model: DigitsClassifier, samples: Tensor, reference_features) -> dict[str, np.ndarray]:
    """Classifier score and Frechet distance to ``reference_features`` of every run of ``samples``
    ``(*runs, N, 64)``: ``{"score": (S,), "fd": (S,)}``."""
    x = samples if samples.ndim == 3 else samples[None]
    probs = model.probabilities(x)
    feats = model.embed(x).cpu().numpy()
    return {"score": np.atleast_1d(classifier_score(probs)),
            "fd": np.array([frechet_distance(f, reference_features) for f in feats])}
