"""Import-only stand-in for torchvision.utils (see the package docstring)."""


def __getattr__(name):
    from . import _missing
    return _missing("utils." + name)
