import ctypes
import resource
import sys

import pytest

from gancompanion.training import allocator, nets, streams, train
from gancompanion import data

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")


def _faults_per_step() -> float:
    """Minor page faults per warm step of the benchmark toy (activations of 512 x 128 floats, 256 KiB each)."""
    st = streams.ToyStreams(data.ring(), [0], batch_size=512, latent_dim=2)
    g, d = nets.mlp_generator(2, [128, 128], 2, [0]), nets.mlp_discriminator(2, [128, 128], [0])
    cfg = train.TrainConfig(steps=50, lr_d=1e-3, lr_g=1e-3, log_every=50)
    train.train(g, d, st, cfg, progress=False)  # warm: the heap grows to the step's peak
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    train.train(g, d, st, cfg, progress=False)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / cfg.steps


def _set_thresholds(trim: int, mmap: int) -> None:
    libc = ctypes.CDLL("libc.so.6")
    assert libc.mallopt(allocator.M_TRIM_THRESHOLD, trim) and libc.mallopt(allocator.M_MMAP_THRESHOLD, mmap)


def test_a_training_step_reuses_freed_memory_instead_of_faulting_it_in():
    assert allocator.keep_freed_memory() and allocator.keep_freed_memory()  # set, and idempotent
    with_thresholds = _faults_per_step()
    _set_thresholds(128 << 10, 128 << 10)  # glibc's initial thresholds, held (train() sets ours once only)
    try:
        without = _faults_per_step()
    finally:
        _set_thresholds(allocator.TRIM_THRESHOLD, allocator.MMAP_THRESHOLD)
    assert with_thresholds < 20 < without, (with_thresholds, without)  # measured: under 1 against about 2000
