"""Semi-supervised learning with a K+1-class GAN (Salimans et al. 2016, sec. 5).

The discriminator is a K-class classifier whose logits l_1..l_K are completed by a fixed l_{K+1} = 0 for
"generated", as in the paper's code. Then p(y = K+1 | x) = 1 / (Z(x) + 1) with Z(x) = sum_k exp l_k, and
the real-vs-generated logit is log Z(x) = logsumexp_k l_k (``techniques.FeatureDiscriminator(outputs=K)``).
The paper's two losses:

- supervised: ``L_sup = -E_{x,y} log p(y | x, y < K+1)``, the cross-entropy of the K logits on labelled data;
- unsupervised: ``L_unsup = -E_x log(1 - p(K+1|x)) - E_G log p(K+1|G(z))``
  ``= E_x softplus(-log Z(x)) + E_G softplus(log Z(G(z)))``,

which is the standard GAN discriminator loss on the logit log Z (the paper's code halves it). The
generator uses feature matching on D's last hidden layer (the paper's best semi-supervised results).
Training reuses ``train.train``: the unsupervised loss is the objective, the supervised loss a D term.
``experiment`` runs Chapter 5's comparison with the same network trained on the labels alone (and a 1-nearest-
neighbour classifier of the same labels as a reference), ``figure`` and ``error_table`` show it with intervals over
seeds, and ``semi_supervised_helps`` is the verdict of its claim (``verdicts.judge`` on its declared effect).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..training import train
from .ch5 import Empirical
from ..device import generator
from ..training.streams import ToyStreams
from ..techniques.improved import FeatureDiscriminator, FeatureMatching, MLPGenerator, without_g_loss
from ..validation import positive, positive_int, seed as check_seed

Tensor = torch.Tensor


def label_subset(y: Tensor, labels_per_class: int, seed: int, n_classes: int = 10) -> Tensor:
    """Indices of ``labels_per_class`` examples of each class of ``y``, drawn from ``seed`` (sorted by class)."""
    labels_per_class = positive_int("labels_per_class", labels_per_class)
    counts = torch.bincount(y.cpu(), minlength=n_classes)
    if labels_per_class > int(counts.min()):
        raise ValueError(f"labels_per_class {labels_per_class} is larger than the data has: the rarest class has "
                         f"{int(counts.min())} examples (choose labels_per_class <= {int(counts.min())})")
    gen = generator(check_seed(seed), "labels")
    picks = []
    for k in range(n_classes):
        idx = torch.nonzero(y.cpu() == k).squeeze(1)
        picks.append(idx[torch.randperm(len(idx), generator=gen)[:labels_per_class]])
    return torch.cat(picks).to(y.device)


def labelled_sets(x: Tensor, y: Tensor, labels_per_class: int, seeds: Sequence[int]) -> tuple[Tensor, Tensor]:
    """One labelled subset per run (run s's from ``seeds[s]``): ``(S, n, dim)`` inputs and ``(S, n)`` labels."""
    idx = torch.stack([label_subset(y, labels_per_class, s) for s in seeds])
    return x[idx], y[idx]


class SupervisedLoss:
    """D term: ``weight * L_sup`` on a labelled batch per run, ``(S,)``.

    Each call draws ``batch_size`` of each run's labelled examples (with replacement, from its own stream).
    """

    needs: frozenset = frozenset()

    def __init__(self, x_lab: Tensor, y_lab: Tensor, seeds: Sequence[int], batch_size: int, weight: float = 1.0,
                 name: str = "supervised"):
        self.x, self.y = x_lab, y_lab  # (S, n, dim), (S, n)
        self.batch_size = positive_int("batch_size", batch_size)
        self.weight = positive("weight", weight)
        self.gens = [generator(s, "labelled-batches", device=x_lab.device) for s in seeds]
        self.name = name

    def draw(self) -> tuple[Tensor, Tensor]:
        n = self.x.shape[1]
        idx = torch.stack([torch.randint(n, (self.batch_size,), generator=g, device=self.x.device) for g in self.gens])
        return (self.x.gather(1, idx[..., None].expand(-1, -1, self.x.shape[-1])), self.y.gather(1, idx))

    def loss(self, d, x: Tensor, y: Tensor) -> Tensor:
        logits = d.forward_features(x).features["class_logits"]  # (S, b, K)
        return F.cross_entropy(logits.transpose(1, 2), y, reduction="none").mean(-1)  # (S,)

    def __call__(self, view, step: int, total: int) -> Tensor:
        x, y = self.draw()
        return self.weight * self.loss(view.d, x, y)

    def __repr__(self) -> str:
        return f"SupervisedLoss(n={self.x.shape[1]}, batch_size={self.batch_size}, weight={self.weight})"


def build(cfg, seeds, n_classes: int = 10, dim: int = 64):
    """The K+1 discriminator and the generator: ``cfg`` needs latent_dim, g_hidden, d_hidden, input_noise,
    hidden_noise."""
    d = FeatureDiscriminator([dim, *cfg.d_hidden], seeds, activation="leaky_relu", outputs=n_classes,
                             input_noise=cfg.input_noise, hidden_noise=cfg.hidden_noise)
    g = MLPGenerator([cfg.latent_dim, *cfg.g_hidden, dim], seeds, activation="relu", output="tanh")
    return g, d


def train_semi_supervised(x_unl: Tensor, x_lab: Tensor, y_lab: Tensor, seeds: Sequence[int], cfg, device,
                          progress: bool = True):
    """Train the K+1 GAN with feature matching; ``x_lab`` (S, n, dim) and ``y_lab`` (S, n) per run.

    The D loss is ``2 L_sup + 2 L_unsup_paper`` (the BCE objective is twice the paper's halved unsupervised
    loss; Adam is invariant to the common factor). Returns the trained discriminator.
    """
    g, d = build(cfg, seeds)
    g, d = g.to(device), d.to(device)
    streams = ToyStreams(Empirical(x_unl.to(device)), seeds, cfg.batch_size, cfg.latent_dim, device=device)
    sup = SupervisedLoss(x_lab.to(device), y_lab.to(device), seeds, cfg.batch_size, weight=2.0)
    tc = train.TrainConfig(steps=cfg.steps, lr_d=cfg.lr, lr_g=cfg.lr, betas=tuple(cfg.betas), log_every=cfg.log_every)
    train.train(g, d, streams, tc, objective=without_g_loss("nonsaturating"), d_terms=[sup],
                g_terms=[FeatureMatching()], progress=progress, desc="K+1 GAN", compile=False)
    return d


def train_supervised(x_lab: Tensor, y_lab: Tensor, seeds: Sequence[int], cfg, device, progress: bool = True):
    """The same discriminator trained as a plain classifier on the labelled examples only, for the same
    number of Adam steps and batch size (the baseline of the paper's Table 1 is this model without the GAN)."""
    from ..progress import bar

    _, d = build(cfg, seeds)
    d = d.to(device)
    sup = SupervisedLoss(x_lab.to(device), y_lab.to(device), seeds, cfg.batch_size)
    opt = train.make_optimizer(d.parameters(), cfg.lr, tuple(cfg.betas), device)
    d.train()
    for _ in bar(range(cfg.steps), desc="supervised only", enabled=progress):
        x, y = sup.draw()
        loss = sup.loss(d, x, y).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return d


@torch.no_grad()
def test_error(d, x_test: Tensor, y_test: Tensor) -> np.ndarray:
    """Per run, the fraction of ``x_test`` (N, dim) misclassified by the K logits' argmax, ``(S,)``."""
    was = d.training
    d.eval()
    runs = d.head.weight.shape[0]
    logits = d.forward_features(x_test.expand(runs, *x_test.shape)).features["class_logits"]
    d.train(was)
    return (logits.argmax(-1) != y_test).float().mean(-1).cpu().numpy()


def nearest_neighbour_error(x_lab: Tensor, y_lab: Tensor, x_test: Tensor, y_test: Tensor) -> np.ndarray:
    """Per run, the test error of a 1-nearest-neighbour classifier on that run's labelled examples, ``(S,)``:
    a classifier with nothing to train, the reference level of what the labels alone give."""
    from sklearn.neighbors import KNeighborsClassifier

    xt, yt = x_test.cpu().numpy(), y_test.cpu().numpy()
    return np.array([1.0 - KNeighborsClassifier(n_neighbors=1).fit(x.cpu().numpy(), y.cpu().numpy()).score(xt, yt)
                     for x, y in zip(x_lab, y_lab)])


MODELS = ("K+1 GAN", "labels only", "1-NN on the labels")


def experiment(x_train: Tensor, y_train: Tensor, x_test: Tensor, y_test: Tensor, cfg, seeds: Sequence[int],
               device) -> pd.DataFrame:
    """For every count of ``cfg.labels_per_class``, the K+1 GAN, the same discriminator trained on the labels
    alone and a 1-nearest-neighbour classifier of the same labels, each seed with its own labelled subset: a
    tidy table (labels, model, seed, test error)."""
    rows = []
    for n in cfg.labels_per_class:
        x_lab, y_lab = labelled_sets(x_train, y_train, n, seeds)
        d_gan = train_semi_supervised(x_train, x_lab, y_lab, seeds, cfg, device)
        d_sup = train_supervised(x_lab, y_lab, seeds, cfg, device)
        errors = {"K+1 GAN": test_error(d_gan, x_test, y_test), "labels only": test_error(d_sup, x_test, y_test),
                  "1-NN on the labels": nearest_neighbour_error(x_lab, y_lab, x_test, y_test)}
        rows += [dict(labels=10 * n, model=name, seed=s, error=float(e))
                 for name, err in errors.items() for s, e in zip(seeds, err)]
    return pd.DataFrame(rows)


def per_seed_errors(table: pd.DataFrame, labels: int, model: str) -> np.ndarray:
    """The test errors of ``model`` at ``labels`` labelled examples, in seed order."""
    part = table[(table.labels == labels) & (table.model == model)].sort_values("seed")
    return part.error.to_numpy()


def mean_errors(table: pd.DataFrame) -> pd.DataFrame:
    """The mean test error over seeds, one row per number of labels, one column per model."""
    return table.groupby(["labels", "model"]).error.mean().unstack()


def figure(table: pd.DataFrame):
    """Test error against the number of labels, mean and 95 % bootstrap interval over seeds, per model (closed)."""
    import matplotlib.pyplot as plt

    from .. import plotting
    from ..evaluation.verdicts import bootstrap_interval

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (name, part), color in zip(table.groupby("model", sort=False), plotting.COLORS):
        counts = sorted(part.labels.unique())
        stats = np.array([bootstrap_interval(per_seed_errors(part, n, name)) for n in counts])  # (L, 3)
        ax.errorbar(counts, 100 * stats[:, 0], yerr=[100 * (stats[:, 0] - stats[:, 1]), 100 * (stats[:, 2] - stats[:, 0])],
                    marker="o", capsize=3, color=color, label=name)
    ax.set_xscale("log"), ax.minorticks_off(), ax.set_xticks(counts, [str(i) for i in counts])
    ax.set_xlabel("labelled examples (10 classes)"), ax.set_ylabel("test error (%)"), ax.legend()
    plt.close(fig)
    return fig


def error_table(table: pd.DataFrame) -> pd.DataFrame:
    """The mean test errors in % with their 95 % bootstrap intervals over seeds, as the chapter shows them."""
    from ..evaluation.verdicts import bootstrap_interval

    out = {}
    for n in sorted(table.labels.unique()):
        row = {}
        for name in [m for m in MODELS if m in set(table.model)]:
            est, low, high = bootstrap_interval(per_seed_errors(table, n, name))
            row[f"{name} (% error)"] = f"{100 * est:.1f} [{100 * low:.1f}, {100 * high:.1f}]"
        out[int(n)] = row
    return pd.DataFrame(out).T.rename_axis("labels")


def comparisons(table: pd.DataFrame) -> dict:
    """Per number of labels, the declared effect of ``ch5.semi-supervised-helps`` judged on the seeds (the K+1
    GAN's error minus that of the labels-only network, paired by seed and labelled subset)."""
    from ..evaluation import verdicts

    effect = verdicts.declared("ch5.semi-supervised-helps")
    return {int(n): verdicts.judge(effect, per_seed_errors(table, n, "K+1 GAN"), per_seed_errors(table, n, "labels only"))
            for n in sorted(table.labels.unique())}


def semi_supervised_helps(table: pd.DataFrame):
    """ch5.semi-supervised-helps (sec. 5): at every number of labels, the mean over seeds of the K+1 GAN's test
    error minus that of the network trained on the labels alone (paired by seed), with its 95 % interval, against
    the declared smallest effect. REPRODUCED when it is at every count, NOT REPRODUCED when it is not at some
    count, INCONCLUSIVE otherwise; the line shows the count with the weakest evidence and lists the others."""
    from ..evaluation.verdicts import Result

    results = comparisons(table)
    outs = [r.outcome for r in results.values()]
    outcome = ("REPRODUCED" if all(o == "REPRODUCED" for o in outs) else
               "NOT REPRODUCED" if "NOT REPRODUCED" in outs else "INCONCLUSIVE")
    weakest_n = min(results, key=lambda n: results[n].low if results[n].direction > 0 else -results[n].high)
    w = results[weakest_n]
    others = "; ".join(f"{n} labels {100 * r.estimate:+.1f} [{100 * r.low:+.1f}, {100 * r.high:+.1f}] points "
                       f"({r.outcome})" for n, r in results.items())
    return Result(outcome, w.estimate, w.low, w.high, w.n, w.smallest, w.direction,
                  f"{w.name}, {weakest_n} labels (the weakest count)", w.seeds_to_settle,
                  f"every count: {others}")
