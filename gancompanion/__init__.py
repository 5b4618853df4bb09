"""gancompanion: an executable companion to the literature on why GAN training fails.

The package by role (each sub-package's docstring says what lives in it):

- ``training``: the training loop and its two steps (``train``), the part protocol (``parts``), GAN
  losses (``objectives``), random streams per run, class-conditional ones too (``streams``), seed-batched networks (``nets``), variants
  that differ only in numbers trained as one model (``batching``), learning-rate schedules (``lr_schedule``), the allocator
  setting (``allocator``).
- ``techniques``: one module per kind of part: discriminator terms (``d_terms``), constraints
  (``constraints``), instance noise (``noise``), latent steps (``latent``), selections (``selections``), layers
  (``layers``), Salimans et al.'s terms and nets (``improved``), the energy-based GAN (``ebgan``).
- ``sampling``: sampling a trained GAN with its discriminator's help, after training.
- ``evaluation``: sample-quality metrics (``metrics``), the digits classifier (``classifier``), the
  perfect-discriminator probes (``probes``), effects with intervals and their verdicts (``verdicts``).
- ``analytic``: closed forms: divergences (``divergences``), the earth mover's distance (``transport``),
  the Dirac-GAN (``dirac``), minibatch divergences (``minibatch_divergences``).
- ``chapters``: what every chapter does (``chapter``), and what one chapter owns: its figures, experiments
  and claims' checks (``ch1``, ``ch2``, ``ch3``, ``ch3_toy``, ``ch4``, ``ch5``, ``ch5_semisupervised``, ``ch6``),
  what the checks share (``checks``).
- ``pipeline``: the claims registry (``claims``), the scales table (``scales``), running the notebooks
  (``runner``), sweeps (``sweep``), the book build (``book``), its "Run this page" box (``pagebox``),
  notebook mirrors (``mirrors``) and their prose for a notebook reader (``notebook_prose``), the command
  line (``cli``).
- At the top: ``data`` (toys, digits, local files), ``device`` (device choice, seeding), ``plotting``
  (house style), ``validation`` (argument checks), ``files`` (atomic writes), ``progress`` (tqdm bars).
"""

__version__ = "0.1.0"

from . import data, device, files, plotting, progress, sampling, validation  # noqa: E402
from .device import pick_device, seed_everything  # noqa: E402
from .pipeline.scales import settings  # noqa: E402

__all__ = ["data", "device", "files", "plotting", "progress", "sampling", "validation", "pick_device",
           "seed_everything", "settings"]
