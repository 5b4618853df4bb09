"""Import-only stand-in for torchvision.datasets (see the package docstring)."""


def __getattr__(name):
    from . import _missing
    return _missing("datasets." + name)
