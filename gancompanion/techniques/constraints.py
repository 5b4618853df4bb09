"""Constraints on the discriminator that keep it (roughly) Lipschitz: weight clipping and spectral norm.

Each is a small unit with ``name``, ``prepare(d)`` (once, before the optimisers are built) and
``after_step(d)`` (under ``no_grad`` after every D optimiser step):

- ``WeightClip(c)``: WGAN's clipping of every parameter to ``[-c, c]`` after each critic step
  (Arjovsky et al. 2017, Algorithm 1; their code clips at 0.01).
- ``SpectralNorm(n_power_iterations)``: every weight is divided by its largest singular value,
  estimated by power iteration with a persistent vector ``u`` (Miyato et al. 2018, Algorithm 1: one
  iteration per update). A seed-batched layer (``nets.SeedBatchedLinear``, weight ``(S, in, out)``)
  becomes a ``SpectrallyNormalisedLinear``, one normalisation *per seed*; plain ``nn.Linear`` /
  ``nn.Conv2d`` use torch's own ``torch.nn.utils.parametrizations.spectral_norm``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from ..training.nets import SeedBatchedLinear
from ..training.parts import Part
from ..validation import choose, nonnegative, positive_int

Tensor = torch.Tensor


class WeightClip(Part):
    """Clamp every parameter of D to ``[-c, c]`` after each D step (WGAN's Lipschitz constraint).

    ``c`` is one number, or one per seed-batched run (a tuple of S numbers): then every parameter
    must have the runs as its first axis, as ``nets.SeedBatchedLinear``'s weights and biases do, and
    variants that differ only in ``c`` train as one model.
    """

    def __init__(self, c=0.01):
        if isinstance(c, (int, float)):
            self.c = nonnegative("c", c)
        elif isinstance(c, (str, bytes)) or not hasattr(c, "__iter__"):
            raise ValueError(f"c must be a number >= 0 or a non-empty sequence of them (one per run), got {c!r}")
        else:
            self.c = tuple(nonnegative("c", v) for v in c)
            if not self.c:
                raise ValueError("c must be a number >= 0 or a non-empty sequence of them")
        self.name = "weight_clip"
        self._bounds: dict = {}

    def prepare(self, d: nn.Module) -> None:
        """Nothing to set up: clipping acts only after the steps."""

    def _bound(self, p: Tensor):
        if isinstance(self.c, float):
            return self.c
        key = (p.ndim, p.device, p.dtype)
        if key not in self._bounds:
            self._bounds[key] = torch.tensor(self.c, device=p.device, dtype=p.dtype)
        c = self._bounds[key]
        if p.ndim == 0 or p.shape[0] != len(self.c):
            raise ValueError(f"a per-run c needs parameters whose first axis has the {len(self.c)} runs, "
                             f"got a parameter shaped {tuple(p.shape)}")
        return c.reshape(-1, *([1] * (p.ndim - 1)))

    @torch.no_grad()
    def after_step(self, d: nn.Module) -> None:
        for p in d.parameters():
            c = self._bound(p)
            if isinstance(c, float):
                p.clamp_(-c, c)
            else:
                torch.clamp(p, -c, c, out=p)

    def __repr__(self) -> str:
        return f"WeightClip(c={self.c!r})"


class SpectrallyNormalisedLinear(SeedBatchedLinear):
    """A ``nets.SeedBatchedLinear`` whose weight ``(S, in, out)`` is divided, per seed, by its largest
    singular value (Miyato et al. 2018, Algorithm 1); ``SpectralNorm.prepare`` turns layers into it.

    ``sigma_s = v_s^T W[s] u_s`` from a power iteration on each ``W[s]`` whose vectors ``u (S, 1, out)``
    and ``v (S, 1, in)`` persist between calls. In training mode every forward pass runs
    ``n_power_iterations`` iterations first, ``v <- W u / |W u|``, ``u <- W^T v / |W^T v|``, as torch's
    ``spectral_norm`` (which plain layers get) does: with one D step per G step, that is one in D's
    update and one in G's. In eval mode the stored vectors are used as they are. As in torch, the
    gradient treats u and v as constants (the last iteration's ``v^T W`` is in the graph of W, u and v
    are not). A weight that is a single row or column (one input or one output, as D's last layer) has
    ``sigma = |W[s]|``, where one iteration from any start lands: such a layer takes the norm (one fused
    call) and leaves its vectors alone.
    ``weight`` stays the raw parameter and ``normalised_weight()`` is what the layer uses: on small
    seed-batched nets, torch's parametrisation machinery cost more than the iteration itself.
    """

    @classmethod
    def convert(cls, layer: SeedBatchedLinear, n_power_iterations: int = 1, eps: float = 1e-12):
        """Turn ``layer`` (in place: same parameters, same module) into a spectrally normalised one."""
        n_power_iterations = positive_int("n_power_iterations", n_power_iterations)
        layer.__class__ = cls
        layer.n_power_iterations, layer.eps = n_power_iterations, eps
        w = layer.weight.detach()
        layer.is_vector = min(w.shape[1], w.shape[2]) == 1
        gen = torch.Generator().manual_seed(0)  # u's start does not matter; one fixed start for every run keeps
        # runs reproducible, and a run's vectors the same whether it trains alone or beside others
        u = F.normalize(torch.randn(1, 1, w.shape[2], generator=gen).to(w), dim=-1, eps=eps).expand(w.shape[0], 1, -1)
        v, u, _ = _power_iteration(w, u, 15, eps)  # start near the top singular vectors, as torch does
        layer.register_buffer("_u", u)
        layer.register_buffer("_v", v)
        layer.register_buffer("_ones", torch.ones(w.shape[0], 1, 1).to(w), persistent=False)
        return layer

    def _sigma(self, weight: Tensor) -> Tensor:
        """``v^T W u`` from the stored vectors (``|W|`` for a single row or column), (S, 1, 1), in the
        graph of ``weight``."""
        if self.is_vector:
            return torch.linalg.vector_norm(weight, dim=(1, 2), keepdim=True)
        return torch.bmm(torch.bmm(self._v, weight), self._u.mT)

    def sigma(self) -> Tensor:
        """The estimate ``v^T W u`` of each seed's largest singular value from the stored vectors, (S,)."""
        return self._sigma(self.weight).reshape(-1)

    def normalised_weight(self) -> Tensor:
        weight = self.weight
        if self.is_vector:  # W / |W|: weight normalisation with g = 1 (Salimans & Kingma 2016), one fused op
            return torch._weight_norm(weight, self._ones, 0)
        if not self.training:
            return weight / self._sigma(weight)
        v, u, t = _power_iteration(weight, self._u, self.n_power_iterations, self.eps)
        self._buffers["_v"], self._buffers["_u"] = v, u  # new tensors: graphs that saved the old ones stay valid
        return weight / torch.bmm(t, u.mT)  # sigma = v^T W u = |v^T W|

    def forward(self, x: Tensor) -> Tensor:
        return torch.baddbmm(self.bias, x, self.normalised_weight())

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, spectral_norm(n_power_iterations={self.n_power_iterations})"


def _power_iteration(weight: Tensor, u: Tensor, n: int, eps: float):
    """``n`` iterations ``v = W u / |W u|``, ``u = W^T v / |W^T v|`` on each ``W[s]``, from ``u (S, 1, out)``;
    returns ``v (S, 1, in)``, ``u (S, 1, out)`` and the last ``t = v^T W`` (S, 1, out), so that
    ``sigma = t u = |t|``. Only that last ``t`` is in the graph of ``weight`` (u and v are constants)."""
    w = weight.detach()
    for i in range(n):
        a = torch.bmm(u, w.mT)  # (W u)^T as u^T W^T: torch.bmm(weight, u), with a single output column,
        # measured 2-4x slower on the CPU
        v = a / torch.linalg.vector_norm(a, dim=2, keepdim=True).clamp_min_(eps)
        t = torch.bmm(v, weight if i == n - 1 else w)
        u = t.detach() / torch.linalg.vector_norm(t.detach(), dim=2, keepdim=True).clamp_min_(eps)
    return v, u, t


class SpectralNorm(Part):
    """Spectral normalisation of every linear and convolutional layer of D (Miyato et al. 2018).

    ``prepare`` turns each seed-batched layer into a ``SpectrallyNormalisedLinear`` and gives plain
    ``nn.Linear`` / ``nn.Conv2d`` torch's parametrisation (idempotent: a layer already normalised is
    left alone); the weights are then normalised in every forward pass, so ``after_step`` has nothing
    to do.
    """

    def __init__(self, n_power_iterations: int = 1):
        self.n_power_iterations = positive_int("n_power_iterations", n_power_iterations)
        self.name = "spectral_norm"

    def prepare(self, d: nn.Module) -> None:
        for module in list(d.modules()):
            if has_spectral_norm(module):
                continue
            if isinstance(module, SeedBatchedLinear):
                SpectrallyNormalisedLinear.convert(module, self.n_power_iterations)
            elif isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.utils.parametrizations.spectral_norm(module, n_power_iterations=self.n_power_iterations)

    def after_step(self, d: nn.Module) -> None:
        """Nothing to do: the layers normalise their weights whenever they are used."""

    def __repr__(self) -> str:
        return f"SpectralNorm(n_power_iterations={self.n_power_iterations})"


def _torch_sn_parametrization(module: nn.Module):
    if not parametrize.is_parametrized(module, "weight"):
        return None
    for p in module.parametrizations.weight:
        if type(p).__name__ == "_SpectralNorm":
            return p
    return None


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module``'s weight is spectrally normalised (by ours or by torch's parametrisation)."""
    return isinstance(module, SpectrallyNormalisedLinear) or _torch_sn_parametrization(module) is not None


def raw_weight(module: nn.Module) -> Tensor:
    """The weight parameter the optimiser moves, before any normalisation."""
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


def used_weight(module: nn.Module) -> Tensor:
    """The weight the layer computes with (normalised where it is; in training mode a spectrally
    normalised layer makes one more power iteration to get it)."""
    return module.normalised_weight() if isinstance(module, SpectrallyNormalisedLinear) else module.weight


@torch.no_grad()
def spectral_norm_estimate(module: nn.Module) -> Tensor:
    """The power-iteration estimate of the largest singular value of ``module``'s raw weight.

    Read from the stored vectors, without a new iteration: ``(S,)`` for a seed-batched layer, a
    0-d tensor for a plain ``nn.Linear`` / ``nn.Conv2d`` (torch's ``u^T W v`` on the weight reshaped
    to ``(out, -1)``).
    """
    if isinstance(module, SpectrallyNormalisedLinear):
        return module.sigma()
    p = _torch_sn_parametrization(module)
    if p is None:
        raise ValueError(f"module {module.__class__.__name__} has no spectral normalisation; "
                         "call SpectralNorm().prepare(net) first")
    weight = raw_weight(module)
    w = weight.flatten(1) if p.dim == 0 else weight.transpose(0, p.dim).flatten(1)
    return torch.vdot(p._u, torch.mv(w, p._v))


def spectral_norm_exact(module: nn.Module, normalised: bool = False) -> Tensor:
    """The largest singular value by SVD (``torch.linalg.matrix_norm(ord=2)``) of the raw weight, or of
    the weight the layer actually uses (``normalised=True``; call it in eval mode to leave the stored
    vectors where they are); ``(S,)`` for a seed-batched layer."""
    with torch.no_grad():
        weight = used_weight(module) if normalised else raw_weight(module)
        mat = weight if weight.ndim == 3 else weight.flatten(1)
        return torch.linalg.matrix_norm(mat.double(), ord=2).to(weight.dtype)


def lipschitz_bound(net: nn.Module) -> Tensor:
    """Product over the layers of the spectral norms (by SVD) of the weights the net uses.

    For an MLP with 1-Lipschitz activations (ReLU, leaky ReLU, tanh) this bounds the norm of its input
    gradient everywhere; ``(S,)`` for a seed-batched net. Evaluated with the net in eval mode, so the
    stored power-iteration vectors are not moved.
    """
    was_training = net.training
    net.eval()
    try:
        bound = None
        for m in net.modules():
            if isinstance(m, (SeedBatchedLinear, nn.Linear, nn.Conv2d)):
                s = spectral_norm_exact(m, normalised=True)
                bound = s if bound is None else bound * s
    finally:
        net.train(was_training)
    if bound is None:
        raise ValueError("net has no linear or convolutional layer")
    return bound


def sn_lag(net: nn.Module) -> Tensor:
    """How far spectral normalisation's estimates let the net's Lipschitz constant exceed 1: the product
    over its *spectrally normalised* layers of the spectral norms (by SVD) of the weights they use.

    Each factor is ``sigma_SVD(W) / sigma_estimate(W)``, 1 when the power iteration has converged; a layer
    without spectral normalisation contributes nothing (it promises no bound), so a net without any has a
    lag of 1 and an input gradient above 1 shows it (Miyato et al. 2018, sec. 2.1). ``(S,)`` for a
    seed-batched net (a 0-d tensor of 1 for a net without SN). Evaluated in eval mode.
    """
    was_training = net.training
    net.eval()
    try:
        lag = torch.ones(())
        for m in net.modules():
            if has_spectral_norm(m):
                lag = lag * spectral_norm_exact(m, normalised=True).cpu()
    finally:
        net.train(was_training)
    return lag


def layer_gradient_norms(net: nn.Sequential, real: Tensor, fake: Tensor) -> "np.ndarray":
    """Gulrajani et al. (2017), Fig. 1b: the norm of d loss / d (input of each linear layer) for the critic
    loss ``E f(fake) - E f(real)``, per seed-batched run; ``(layers, runs)``, first layer first.

    ``net`` is a seed-batched ``nets.MLP`` (its modules in order), ``real`` and ``fake`` are ``(S, B, 2)``.
    Run it in float64 for small clipping bounds: with c = 0.001 a deep critic's gradient underflows float32.
    """
    h = torch.cat([real, fake], dim=1).requires_grad_(True)
    inputs = []
    for m in net:
        if isinstance(m, SeedBatchedLinear):
            h.retain_grad()
            inputs.append(h)
        h = m(h)
    n = real.shape[1]
    (h[:, n:, 0].mean(-1) - h[:, :n, 0].mean(-1)).sum().backward()
    return torch.stack([x.grad.flatten(1).norm(dim=1) for x in inputs]).cpu().numpy()


CONSTRAINTS = {"weight_clip": WeightClip, "spectral_norm": SpectralNorm}


def get_constraint(name: str, **settings):
    """A constraint by name with its settings, e.g. ``get_constraint("weight_clip", c=0.01)``."""
    return CONSTRAINTS[choose("constraint", name, CONSTRAINTS)](**settings)
