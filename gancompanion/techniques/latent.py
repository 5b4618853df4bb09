"""Latent steps: parts that move the generator's latents, using the discriminator, before G's forward pass.

``LatentOptimisation`` (LOGAN, Wu et al. 2019): each latent takes one step up f(z), by plain gradient
ascent, dz = alpha g, or by the damped natural gradient, dz = alpha g / (beta + ``|g|^2``) (the empirical
Fisher g g^T with Tikhonov damping beta), with g = df/dz per sample; G is then trained on G([z + dz]), [.]
clipping to [-clip, clip]. f is D's score of the sample, f(z) = D(G(z)), as in
the paper's Algorithm 1 (``target="score"``), or minus the generator loss (``target="g_loss"``).

With ``through_step=True`` G's loss is differentiated through dz as well: the second-order terms that
Wu et al. relate to symplectic gradient adjustment. dz is then computed against a frozen copy of
D's weights as they were when the step was taken, so the loop's D updates, which come before G's update
and change D's weights in place, cannot change the graph that G's gradient runs through. With
``through_step_d=True`` D's loss on G(z') is differentiated through dz in D's weights too, as automatic
differentiation of Algorithm 1's D loss on G(z') gives (a D term whose value is 0 and whose gradient
is that missing part; instance noise is not applied in it).

``penalty`` adds w ``mean |dz|^2`` to D's and/or G's loss (Wu et al. 2019 regularise the step's
Euclidean norm); the part hands the loop these terms through ``terms()``. Wu et al.'s latent prior is
U(-1, 1), consistent with the clipping: ``ToyStreams(..., prior="uniform")``. ``LatentOptimisation.published``
gathers these choices. It follows the loop's protocol ``step(z, g, d, objective, step, total) -> z'``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch.func import functional_call

from ..training.parts import Part
from ..validation import choose, nonnegative, positive

Tensor = torch.Tensor

LATENT_METHODS = ("gd", "natural")
LATENT_TARGETS = ("g_loss", "score")
PENALISED = ("both", "d", "g")


def frozen(module: torch.nn.Module):
    """``module``'s forward pass with its parameters as they are now, detached: later in-place updates of
    the parameters (an optimiser's step) do not change what a graph built with it computes or differentiates."""
    module = getattr(module, "_orig_mod", module)  # a torch.compile'd module: its plain module
    params = {k: p.detach().clone() for k, p in module.named_parameters()}
    return lambda x: functional_call(module, params, (x,))


@dataclass(frozen=True)
class LatentOptimisation(Part):
    """LOGAN's latent step (Wu et al. 2019, Algorithm 1).

    Attributes:
        alpha: step size (> 0).
        beta: damping of the natural-gradient step (> 0); unused by ``"gd"``.
        method: ``"gd"`` (dz = alpha g) or ``"natural"`` (dz = alpha g / (beta + ``|g|^2``)).
        clip: clamp z' to [-clip, clip] entry-wise (``None``: no clamp; the paper clips to [-1, 1]).
        through_step: also differentiate G's loss through dz (second-order terms), with dz computed against
            D's weights at the time of the step; ``False`` treats dz as a constant.
        through_step_d: also differentiate D's loss on the generated batch through dz (in D's weights).
        target: what the step climbs: ``"score"``, f(z) = D(G(z)) (the paper), or ``"g_loss"``, f(z) =
            -B L_G (the generator loss's per-sample gradient; the non-saturating loss weights each sample's
            gradient by 1 - sigmoid(D)). ``"score"`` needs a score that is higher for samples D deems real.
        penalty: weight w of the term w ``mean_batch |dz|^2`` (0: none).
        penalise: which losses take the term: ``"both"``, ``"d"`` or ``"g"``.
    The paper's alpha, beta, penalty weight and which losses take the penalty are not confirmed in what we
    could read: the defaults (alpha 0.9, beta 5, natural gradient) are the commonly quoted values, labelled
    as such in the book; the penalty has no default weight.
    """

    alpha: float = 0.9
    beta: float = 5.0
    method: str = "natural"
    clip: float | None = None
    through_step: bool = False
    through_step_d: bool = False
    target: str = "g_loss"
    penalty: float = 0.0
    penalise: str = "both"
    name: str = "logan"
    _last: dict = field(default_factory=dict, repr=False, compare=False)  # this step's z and dz, for the terms

    def __post_init__(self):
        positive("alpha", self.alpha)
        positive("beta", self.beta)
        choose("method", self.method, LATENT_METHODS)
        choose("target", self.target, LATENT_TARGETS)
        choose("penalise", self.penalise, PENALISED)
        nonnegative("penalty", self.penalty)
        if self.clip is not None:
            positive("clip", self.clip)

    def __repr__(self) -> str:  # the checkpoint id: every setting, the settings added since only when set
        core = (f"LatentOptimisation(alpha={self.alpha!r}, beta={self.beta!r}, method={self.method!r}, "
                f"clip={self.clip!r}, through_step={self.through_step!r}")
        extra = "".join(f", {k}={getattr(self, k)!r}" for k, default in
                        (("through_step_d", False), ("target", "g_loss"), ("penalty", 0.0), ("penalise", "both"))
                        if getattr(self, k) != default)
        return core + extra + f", name={self.name!r})"

    @classmethod
    def published(cls, penalty: float, alpha: float = 0.9, beta: float = 5.0, method: str = "natural",
                  penalise: str = "both", name: str = "logan") -> "LatentOptimisation":
        """LOGAN as in Wu et al.'s Algorithm 1: f = D(G(z)), z' = [z + dz] clipped to [-1, 1], both players'
        gradients through dz, and the ``|dz|^2`` term of weight ``penalty``. Pair it with a U(-1, 1) latent
        prior (``ToyStreams(..., prior="uniform")``)."""
        return cls(alpha=alpha, beta=beta, method=method, clip=1.0, through_step=True, through_step_d=True,
                   target="score", penalty=penalty, penalise=penalise, name=name)

    def delta(self, grad: Tensor) -> Tensor:
        """dz from g = df/dz (..., latent_dim), per sample."""
        if self.method == "gd":
            return self.alpha * grad
        return self.alpha * grad / (self.beta + (grad ** 2).sum(-1, keepdim=True))

    def gradient(self, z: Tensor, g, d, objective, create_graph: bool) -> Tensor:
        """g = df/dz per sample, ``z`` a leaf that requires grad; with ``create_graph`` it stays
        differentiable in G's and D's parameters (through whichever ``g`` and ``d`` are given)."""
        score = d(g(z))  # (*runs, B)
        f = score.sum() if self.target == "score" else -z.shape[-2] * objective.g_loss(score).sum()
        (grad,) = torch.autograd.grad(f, z, create_graph=create_graph)
        return grad

    def moved(self, z: Tensor, dz: Tensor) -> Tensor:
        """z' = [z + dz]."""
        z_new = z + dz
        return z_new if self.clip is None else z_new.clamp(-self.clip, self.clip)

    def __call__(self, z: Tensor, g, d, objective, step: int = 0, total: int = 1) -> Tensor:
        """z' = [z + dz]; D's parameters are not touched (no gradient reaches them)."""
        g_penalty = self.penalty > 0 and self.penalise in ("both", "g")
        graph = self.through_step or g_penalty
        z0 = z.detach().requires_grad_(True)
        if graph:  # torch.compile'd modules have no double backward: the plain G, and D's frozen copy
            g, d = getattr(g, "_orig_mod", g), frozen(d)
        dz = self.delta(self.gradient(z0, g, d, objective, create_graph=graph))
        self._last.clear()
        self._last.update(z=z.detach(), dz=dz, objective=objective, d_calls={})
        return self.moved(z.detach(), dz if self.through_step else dz.detach())

    def terms(self, n_dis: int = 1) -> tuple[tuple, tuple]:
        """The loss terms this step adds, ``(d_terms, g_terms)``: the ``|dz|^2`` penalty where it is set, and
        D's gradient through dz. D's terms act on the last of the ``n_dis`` D steps after each latent step,
        the one that sees G(z') (the loop's earlier D steps see fresh latents, without a latent step)."""
        d_terms, g_terms = [], []
        if self.penalty > 0 and self.penalise in ("both", "d"):
            d_terms.append(StepPenaltyD(self, n_dis))
        if self.through_step_d:
            d_terms.append(StepThroughD(self, n_dis))
        if self.penalty > 0 and self.penalise in ("both", "g"):
            g_terms.append(StepPenaltyG(self))
        return tuple(d_terms), tuple(g_terms)


def _sq_norm(dz: Tensor) -> Tensor:
    return (dz ** 2).sum(-1).mean(-1)  # (*runs,): mean over the batch of |dz|^2


@dataclass(frozen=True)
class StepPenaltyG(Part):
    """G's term w ``mean |dz|^2`` of the step just taken, differentiated through dz in G's weights."""

    step: LatentOptimisation
    needs = ()

    @property
    def name(self) -> str:
        return f"{self.step.name}_dz_g"

    def __call__(self, view, step: int = 0, total: int = 1) -> Tensor:
        return self.step.penalty * _sq_norm(self.step._last["dz"])


@dataclass(frozen=True)
class _DTerm(Part):
    """A D term of a latent step: acts on the last of the ``n_dis`` D steps after each latent step (0 on the
    others), with dz recomputed at the step's latents against D's current weights and G's held fixed."""

    step: LatentOptimisation
    n_dis: int = 1
    needs = ()
    suffix = ""

    @property
    def name(self) -> str:
        return f"{self.step.name}_{self.suffix}"

    def bind(self, g, d) -> None:
        object.__setattr__(self, "_g", g)

    def __call__(self, view, step: int = 0, total: int = 1) -> Tensor:
        last = self.step._last
        k = last["d_calls"].get(self.name, 0)
        last["d_calls"][self.name] = k + 1
        if k != self.n_dis - 1:
            return view.fake_out.score.new_zeros(view.fake_out.score.shape[:-1])
        if "d_dz" not in last:  # one dz in D's weights per latent step, shared by its D terms
            g = frozen(self._g)
            z0 = last["z"].detach().requires_grad_(True)
            last["d_dz"] = g, self.step.delta(self.step.gradient(z0, g, view.d, last["objective"], create_graph=True))
        g, dz = last["d_dz"]
        return self.value(view, g, last["z"], dz, last["objective"])


@dataclass(frozen=True)
class StepPenaltyD(_DTerm):
    """D's term w ``mean |dz|^2``, its gradient reaching D's weights through dz."""

    suffix = "dz_d"

    def value(self, view, g, z, dz, objective) -> Tensor:
        return self.step.penalty * _sq_norm(dz)


@dataclass(frozen=True)
class StepThroughD(_DTerm):
    """The part of D's loss gradient that runs through dz: D's loss on G([z + dz]) with D's weights held
    fixed everywhere but inside dz, minus its own value (so the term adds 0 to the loss and only that
    gradient to D's)."""

    suffix = "through_dz_d"

    def value(self, view, g, z, dz, objective) -> Tensor:
        fake = frozen(view.d)(g(self.step.moved(z, dz)))
        loss = objective.d_loss(view.real_out.score.detach(), fake)
        return loss - loss.detach()
