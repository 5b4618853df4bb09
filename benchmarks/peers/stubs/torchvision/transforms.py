"""Import-only stand-in for torchvision.transforms (see the package docstring)."""


def __getattr__(name):
    from . import _missing
    return _missing("transforms." + name)
