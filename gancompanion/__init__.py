"""gancompanion: an executable companion to the literature on why GAN training fails.

Modules, one idea each: ``data`` (toys, digits, local files), ``nets`` (MLPs, DCGAN),
``objectives`` (GAN losses), ``noise`` (instance noise, schedules), ``regularizers`` (gradient
penalties), ``streams`` (random streams per run), ``train`` (the training loop), ``probes``
(the perfect-discriminator probe), ``minibatch_divergences``, ``metrics``,
``claims`` (the claims registry), ``scales``
(what smoke/book/paper mean), ``plotting`` (house style), ``runner``/``cli`` (notebooks and book).
"""

__version__ = "0.1.0"

from . import (  # noqa: E402
    chapter,
    claims,
    constraints,
    data,
    device,
    ebgan,
    latent,
    metrics,
    minibatch_divergences,
    nets,
    noise,
    objectives,
    parts,
    plotting,
    probes,
    regularizers,
    sampling,
    scales,
    streams,
    train,
    transport,
    validation,
)
from .device import pick_device, seed_everything  # noqa: E402
from .scales import settings  # noqa: E402

__all__ = ["chapter", "claims", "constraints", "data", "device", "ebgan", "latent", "sampling", "transport", "metrics", "minibatch_divergences", "nets", "noise", "objectives", "parts", "plotting", "probes", "regularizers",
           "scales", "streams", "train", "validation", "pick_device", "seed_everything", "settings"]
