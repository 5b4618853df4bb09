import os

import pytest
import torch

os.environ.setdefault("GANCOMPANION_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _one_thread_and_seed():
    torch.manual_seed(0)
    yield


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    """Claim records of a test go to a temporary folder."""
    monkeypatch.setenv("GANCOMPANION_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Work in a fresh folder, with no results or claims folder set by the environment."""
    monkeypatch.chdir(tmp_path)
    for var in ("GANCOMPANION_RESULTS", "GANCOMPANION_CLAIMS"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def one_thread():
    """Train on one CPU thread (the chapters do; two threads on a shared machine are many times slower)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
