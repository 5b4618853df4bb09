"""An import-only stand-in for torchvision, used by the benchmark's peer workers alone.

PyPI's torchvision wheels are built against PyPI's CUDA torch, and fail to load beside the
CPU torch 2.13 wheel ("operator torchvision::nms does not exist"). The peers import torchvision
at module level but never call it on the toy path; anything here raises if it is ever called.
"""

__version__ = "0.0.0+stub"

from . import datasets, models, transforms, utils  # noqa: E402,F401


def _missing(name):
    def fail(*args, **kwargs):
        raise NotImplementedError(f"torchvision.{name} is a stub in the benchmark environment")
    return fail


def __getattr__(name):
    return _missing(name)
