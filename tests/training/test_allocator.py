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


_MEASURE = """
from tests.training.test_allocator import _faults_per_step, _set_thresholds
from gancompanion.training import allocator
assert allocator.keep_freed_memory() and allocator.keep_freed_memory()  # set, and idempotent
with_thresholds = _faults_per_step()
_set_thresholds(128 << 10, 128 << 10)  # glibc's initial thresholds, held (train() sets ours once only)
print(with_thresholds, _faults_per_step())
"""


def _measured() -> tuple[float, float]:
    """Faults per step with our thresholds, then glibc's, in a fresh interpreter (the heap that earlier
    tests in this process left behind changes the count)."""
    import os
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", _MEASURE], capture_output=True, text=True, cwd=root, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return tuple(float(v) for v in out.stdout.split()[-2:])


def test_a_training_step_reuses_freed_memory_instead_of_faulting_it_in():
    with_thresholds, without = _measured()
    assert with_thresholds < 20 < without, (with_thresholds, without)  # measured: under 1 against about 2000
