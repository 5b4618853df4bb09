"""What each scale means, per experiment: the one table notebooks read their sizes from.

``smoke`` is what CI and nbval run (every notebook in well under 90 s on 2 CPU cores), ``book``
is what the published book is built with, ``paper`` uses the source's own settings where they
are known (research-notes.md says how each was confirmed) and is meant for a GPU.
"""

from __future__ import annotations

from .validation import choose

SCALES = ("smoke", "book", "paper")


class Settings(dict):
    """A read-only dict whose keys are also attributes: ``cfg.steps`` or ``cfg["steps"]``."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"no setting {key!r}; this experiment has {sorted(self)}") from None

    def _read_only(self, *args, **kwargs):
        """Settings cannot be changed."""
        raise TypeError("scale settings are read-only; pass overrides as notebook parameters instead")

    __setitem__ = __delitem__ = __setattr__ = update = pop = clear = setdefault = _read_only


def _per_scale(common: dict, **by_scale: dict) -> dict[str, dict]:
    assert set(by_scale) == set(SCALES), by_scale.keys()
    return {s: {**common, **by_scale[s]} for s in SCALES}


TABLE: dict[str, dict[str, dict]] = {
    # Chapter 1, section 1: data and model on two parallel 1-D curves in the plane; a small MLP D.
    "ch1.supports": _per_scale(
        dict(hidden=64, batch_size=256, lr=1e-3, noise_sigma=0.3, offset=0.3, check_every=50),
        smoke=dict(iterations=1500),
        book=dict(iterations=5000),
        paper=dict(iterations=20000),
    ),
    # Chapter 1, Figs. 1-3 of Arjovsky & Bottou (2017): a DCGAN trained for some epochs on the digits,
    # then a fresh discriminator trained from scratch against each frozen generator. The paper: 1, 10
    # and 25 epochs, 4000 D iterations, running averages. Its dataset, D optimiser and batch size are
    # not stated (research-notes section 1): the GAN uses DCGAN's Adam(2e-4, 0.5) and batch 64; the
    # fresh D uses Adam at 5e-3 so that its error falls to the paper's ~1e-5 level within the budget.
    "ch1.probe": _per_scale(
        dict(latent_dim=16, batch_size=64, gan_lr=2e-4, probe_lr=5e-3, betas=(0.5, 0.999),
             running_average=20, accuracy_window=500, noise_scale=0.5, image_size=16, width=16),
        smoke=dict(epochs=(1, 2, 4), d_iterations=500, grad_every=10, grad_batches=4, noise_sweep=(0.5,)),
        book=dict(epochs=(1, 10, 25), d_iterations=2000, grad_every=25, grad_batches=8,
                  noise_sweep=(0.1, 0.25, 0.5)),
        paper=dict(epochs=(1, 10, 25), d_iterations=4000, grad_every=50, grad_batches=16,
                   noise_sweep=(0.05, 0.1, 0.25, 0.5, 1.0), image_size=32, width=64),
    ),
}


def settings(experiment: str, scale: str) -> Settings:
    """The sizes of ``experiment`` at ``scale`` (an error names both parameters and their choices)."""
    choose("experiment", experiment, sorted(TABLE))
    choose("scale", scale, SCALES)
    return Settings(dict(TABLE[experiment][scale], scale=scale))
