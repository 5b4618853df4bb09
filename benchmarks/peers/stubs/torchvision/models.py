"""Import-only stand-in for torchvision.models (see the package docstring)."""


def __getattr__(name):
    from . import _missing
    return _missing("models." + name)
