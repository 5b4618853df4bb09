"""Constraints on the discriminator that keep it (roughly) Lipschitz: weight clipping and spectral norm.

Each is a small unit with ``name``, ``prepare(d)`` (once, before the optimisers are built) and
``after_step(d)`` (under ``no_grad`` after every D optimiser step):

- ``WeightClip(c)``: WGAN's clipping of every parameter to ``[-c, c]`` after each critic step
  (Arjovsky et al. 2017, Algorithm 1; their code clips at 0.01).
- ``SpectralNorm(n_power_iterations)``: every weight is divided by its largest singular value,
  estimated by power iteration with a persistent vector ``u`` (Miyato et al. 2018, Algorithm 1: one
  iteration per update). A seed-batched layer (``nets.SeedBatchedLinear``, weight ``(S, in, out)``)
  gets one normalisation *per seed*; plain ``nn.Linear`` / ``nn.Conv2d`` use torch's own
  ``torch.nn.utils.parametrizations.spectral_norm``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from .nets import SeedBatchedLinear
from .validation import choose, nonnegative, positive_int

Tensor = torch.Tensor


class WeightClip:
    """Clamp every parameter of D to ``[-c, c]`` after each D step (WGAN's Lipschitz constraint).

    ``c`` is one number, or one per seed-batched run (a tuple of S numbers): then every parameter
    must have the runs as its first axis, as ``nets.SeedBatchedLinear``'s weights and biases do, and
    variants that differ only in ``c`` train as one model.
    """

    def __init__(self, c=0.01):
        if isinstance(c, (int, float)):
            self.c = nonnegative("c", c)
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


class BatchedSpectralNorm(nn.Module):
    """Parametrisation ``W[s] -> W[s] / sigma_s`` of an ``(S, in, out)`` weight, one sigma per seed.

    ``sigma_s = v_s^T W[s] u_s`` from a power iteration on each ``W[s]`` whose vectors ``u (S, out)``
    and ``v (S, in)`` persist between calls (Miyato et al. 2018, Algorithm 1). In training mode every
    access runs ``n_power_iterations`` iterations first, ``v <- W u / |W u|``, ``u <- W^T v / |W^T v|``;
    in eval mode the stored vectors are used as they are. As in torch's ``spectral_norm``, the
    gradient treats u and v as constants. As torch's ``spectral_norm`` (which plain layers get), every
    forward pass in training mode makes an iteration: with one D step per G step, that is one in D's
    update and one in G's.
    """

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, eps: float = 1e-12):
        super().__init__()
        if weight.ndim != 3:
            raise ValueError(f"weight must be (S, in, out), got shape {tuple(weight.shape)}")
        self.n_power_iterations = positive_int("n_power_iterations", n_power_iterations)
        self.eps = eps
        s, fan_in, fan_out = weight.shape
        gen = torch.Generator().manual_seed(0)  # u's start does not matter; a fixed one keeps runs reproducible
        w = weight.detach()
        u = F.normalize(torch.randn(s, fan_out, generator=gen).to(w), dim=-1, eps=eps)
        for _ in range(15):  # start near the top singular vectors, as torch does
            v = F.normalize((w @ u.unsqueeze(-1)).squeeze(-1), dim=-1, eps=eps)
            u = F.normalize((v.unsqueeze(1) @ w).squeeze(1), dim=-1, eps=eps)
        self.register_buffer("_u", u)
        self.register_buffer("_v", v)

    def _sigma(self, weight: Tensor) -> Tensor:
        """``v^T W u`` from the stored vectors, (S, 1, 1), in the graph of ``weight``."""
        return torch.bmm(torch.bmm(self._v.unsqueeze(1), weight), self._u.unsqueeze(-1))

    def sigma(self, weight: Tensor) -> Tensor:
        """The estimate ``v^T W u`` from the stored vectors, per seed, (S,), in the graph of ``weight``."""
        return self._sigma(weight).reshape(-1)

    def forward(self, weight: Tensor) -> Tensor:
        if not self.training:
            return weight / self._sigma(weight)
        out, self._v, self._u = _PowerIterationNormalise.apply(weight, self._u, self.n_power_iterations, self.eps)
        return out


class _PowerIterationNormalise(torch.autograd.Function):
    """``W[s] / sigma_s`` after ``n`` power iterations from ``u``, as one autograd node (the seed-batched
    spectral norm's training-mode step; small matrices make the per-operation cost what matters).

    Forward, per seed and iteration: ``a = W u``, ``v = a / |a|``, ``t = v^T W``, ``sigma = |t| = v^T W u'``
    with ``u' = t / |t|``. Backward with u and v held constant, as torch's ``spectral_norm``:
    ``d(W / sigma) / dW`` applied to ``g`` is ``(g - <g, W / sigma> v u'^T) / sigma``.
    Returns the normalised weight and the new ``v (S, in)``, ``u (S, out)``.
    """

    @staticmethod
    def forward(ctx, weight: Tensor, u: Tensor, n_power_iterations: int, eps: float):
        u = u.unsqueeze(1)  # (S, 1, out)
        for _ in range(n_power_iterations):
            a = torch.bmm(u, weight.mT).mT  # W u, (S, in, 1), as (u^T W^T)^T: torch.bmm(weight, u), with a
            # single output column, measured 2-4x slower on the CPU
            v = a / torch.linalg.vector_norm(a, dim=1, keepdim=True).clamp_min_(eps)
            t = torch.bmm(v.mT, weight)  # v^T W, (S, 1, out)
            sigma = torch.linalg.vector_norm(t, dim=2, keepdim=True).clamp_min_(eps)  # (S, 1, 1)
            u = t / sigma
        out = weight / sigma
        ctx.save_for_backward(out, v, u, sigma)
        v, u = v.squeeze(-1), u.squeeze(1)
        ctx.mark_non_differentiable(v, u)
        return out, v, u

    @staticmethod
    def backward(ctx, grad, _grad_v, _grad_u):
        out, v, u, sigma = ctx.saved_tensors
        inner = torch.bmm(grad.flatten(1).unsqueeze(1), out.flatten(1).unsqueeze(-1))  # <g, W / sigma>, (S, 1, 1)
        return torch.addcmul(grad, inner * v, u, value=-1) / sigma, None, None, None  # v u^T by broadcasting


class SpectralNorm:
    """Spectral normalisation of every linear and convolutional layer of D (Miyato et al. 2018).

    ``prepare`` registers the parametrisations (idempotent: a layer already normalised is left alone);
    the weights are then normalised in every forward pass, so ``after_step`` has nothing to do.
    """

    def __init__(self, n_power_iterations: int = 1):
        self.n_power_iterations = positive_int("n_power_iterations", n_power_iterations)
        self.name = "spectral_norm"

    def prepare(self, d: nn.Module) -> None:
        for module in list(d.modules()):
            if has_spectral_norm(module):
                continue
            if isinstance(module, SeedBatchedLinear):
                parametrize.register_parametrization(
                    module, "weight", BatchedSpectralNorm(module.weight.detach(), self.n_power_iterations))
            elif isinstance(module, (nn.Linear, nn.Conv2d)):
                nn.utils.parametrizations.spectral_norm(module, n_power_iterations=self.n_power_iterations)

    def after_step(self, d: nn.Module) -> None:
        """Nothing to do: the parametrisation normalises the weights whenever they are used."""

    def __repr__(self) -> str:
        return f"SpectralNorm(n_power_iterations={self.n_power_iterations})"


def _sn_parametrization(module: nn.Module):
    if not parametrize.is_parametrized(module, "weight"):
        return None
    for p in module.parametrizations.weight:
        if isinstance(p, BatchedSpectralNorm) or type(p).__name__ == "_SpectralNorm":
            return p
    return None


def has_spectral_norm(module: nn.Module) -> bool:
    """Whether ``module``'s weight carries a spectral-norm parametrisation (ours or torch's)."""
    return _sn_parametrization(module) is not None


@torch.no_grad()
def spectral_norm_estimate(module: nn.Module) -> Tensor:
    """The power-iteration estimate of the largest singular value of ``module``'s raw weight.

    Read from the stored vectors, without a new iteration: ``(S,)`` for a seed-batched layer, a
    0-d tensor for a plain ``nn.Linear`` / ``nn.Conv2d`` (torch's ``u^T W v`` on the weight reshaped
    to ``(out, -1)``).
    """
    p = _sn_parametrization(module)
    if p is None:
        raise ValueError(f"module {module.__class__.__name__} has no spectral-norm parametrisation; "
                         "call SpectralNorm().prepare(net) first")
    weight = module.parametrizations.weight.original
    if isinstance(p, BatchedSpectralNorm):
        return p.sigma(weight)
    w = weight.flatten(1) if p.dim == 0 else weight.transpose(0, p.dim).flatten(1)
    return torch.vdot(p._u, torch.mv(w, p._v))


def spectral_norm_exact(module: nn.Module, normalised: bool = False) -> Tensor:
    """The largest singular value by SVD (``torch.linalg.matrix_norm(ord=2)``) of the raw weight, or of
    the weight the layer actually uses (``normalised=True``); ``(S,)`` for a seed-batched layer."""
    with torch.no_grad():
        if normalised:
            weight = module.weight  # evaluates the parametrisation (in eval mode: no new iteration)
        else:
            weight = module.parametrizations.weight.original if parametrize.is_parametrized(module, "weight") \
                else module.weight
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
