"""One benchmark worker: builds one training loop and times blocks of its steps on request.

``run.py`` starts one worker process per loop it compares and asks them in turn, so that every
loop is timed in its own process (its own allocator and thread pool) but side by side with the
others. Protocol: one JSON request per line on stdin, one JSON answer per line on stdout:
``{"op": "make", "spec": {...}}`` -> ``{"ok": true, "setup_s": ..., "info": {...}}``;
``{"op": "time", "n": N}`` -> ``{"seconds": ...}`` for N steps.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

TOY_VARIANTS = {  # the parts of each toy variant (one D update per G update throughout)
    "plain": lambda: dict(),
    "roth": lambda: dict(d_terms=[_penalty("roth", 0.1)]),
    "r1": lambda: dict(d_terms=[_penalty("r1", 0.1)]),
    "wgan_gp": lambda: dict(objective="wgan", d_terms=[_penalty("wgan_gp", 1.0)]),
}


def _penalty(kind, weight):
    try:
        from gancompanion.techniques.d_terms import Penalty
    except ImportError:  # the library before it was composed of parts: the same settings as config fields
        return {"regularizer": kind, "reg_weight": weight}
    return Penalty(kind, weight)


def _train_args(variant):
    """(TrainConfig fields, train() keyword arguments) of a variant, for either version of the library."""
    parts = TOY_VARIANTS[variant]()
    if any(isinstance(t, dict) for t in parts.get("d_terms", [])):  # the old library
        return {**parts.get("d_terms", [{}])[0], **({"objective": parts["objective"]} if "objective" in parts else {})}, {}
    return {}, parts


# ------------------------------------------------------------------------------------------
# The loops


def make_gancompanion(variant="plain", seeds=1, batch=512, width=128, compile=False, device="cpu", **_):
    from gancompanion import data
    from gancompanion.training import nets, streams, train

    ids = list(range(seeds))
    st = streams.ToyStreams(data.ring(), ids, batch_size=batch, latent_dim=2, device=device)
    g = nets.mlp_generator(2, [width, width], 2, ids).to(device)
    d = nets.mlp_discriminator(2, [width, width], ids).to(device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    fields, parts = _train_args(variant)

    def run(n):  # n steps of train(), as a reader calls it (history every 100 steps, no progress bar)
        cfg = train.TrainConfig(steps=n, lr_d=1e-3, lr_g=1e-3, log_every=min(100, n), **fields)
        train.train(g, d, st, cfg, progress=False, compile=compile, **parts)
        sync()  # the GPU's queued work belongs to these n steps

    return run


def make_handwritten(variant="plain", batch=512, width=128, **_):
    from handwritten import HandWritten

    h = HandWritten(variant, batch=batch, width=width)

    def run(n):
        for _ in range(n):
            h.step()

    return run


def make_peer(peer, variant="plain", batch=512, width=128, **_):
    from peers.adapters import MAKERS

    step = MAKERS[peer](variant, batch, width, 0)

    def run(n):
        for _ in range(n):
            step()

    return run


VIEWS = {"aten.detach.default", "aten.t.default", "aten.transpose.int", "aten.view.default", "aten.expand.default",
         "aten.unsqueeze.default", "aten.squeeze.dim", "aten.squeeze.dims", "aten.as_strided.default",
         "aten._unsafe_view.default", "aten.alias.default", "aten.split.Tensor", "aten.slice.Tensor",
         "aten.select.int", "aten.permute.default", "aten.reshape.default", "aten.lift_fresh.default"}
MATMULS = {"aten.mm.default", "aten.addmm.default", "aten.bmm.default", "aten.baddbmm.default"}


def count_step(step) -> dict:
    """The work of one ``step()``: its matrix products (shapes, FLOPs) and its elementwise elements."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.mm, self.elems, self.flops = [], Counter(), 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = str(func)
            if name in MATMULS:
                a, b = (args[1], args[2]) if "add" in name else (args[0], args[1])
                self.mm.append((tuple(a.shape), tuple(b.shape)))
                self.flops += 2 * a.numel() * b.shape[-1]
            elif name not in VIEWS:
                sizes = [t.numel() for t in (*args, out) if isinstance(t, torch.Tensor)]
                kind = name.split(".")[1]
                self.elems[kind if kind in ("tanh", "tanh_backward") else "other"] += max(sizes, default=0)
            return out

    counter = Count()
    with counter:
        step()
    return {"matmuls": counter.mm, "flops": counter.flops, "elements": dict(counter.elems)}


def make_floor(variant="plain", batch=512, width=128, part="all", **_):
    """The compute floor of the toy step: its matrix products at the library's rate plus its
    elementwise work at the per-element cost of large, overhead-free calls (tanh and its
    derivative at theirs, everything else at a multiply's), with no autograd. ``part="matmul"``
    runs the matrix products alone (their FLOPs over that time is the measured matmul rate)."""
    from handwritten import HandWritten

    h = HandWritten(variant, batch=batch, width=width)
    h.step()
    work = count_step(h.step)
    mms = []
    for a, b in work["matmuls"]:
        A, B = torch.randn(a), torch.randn(b)
        mms.append((A, B, torch.empty(*a[:-1], b[-1])))
    el = work["elements"]
    x = {k: torch.randn(max(el.get(k, 1), 1)) for k in ("tanh", "tanh_backward", "other")}
    out = {k: torch.empty_like(v) for k, v in x.items()}
    tanh_bw = torch.ops.aten.tanh_backward.grad_input

    def run(n):
        for _ in range(n):
            for A, B, C in mms:
                torch.matmul(A, B, out=C)
            if part == "matmul":
                continue
            torch.tanh(x["tanh"], out=out["tanh"])
            tanh_bw(x["tanh_backward"], x["tanh_backward"], grad_input=out["tanh_backward"])
            torch.mul(x["other"], x["other"], out=out["other"])

    run.info = {"flops": work["flops"], "elements": el, "matmul_calls": len(mms)}
    return run


def _digits_dcgan(seed=0):
    from gancompanion import data
    from gancompanion.training import nets
    from gancompanion.pipeline import scales

    cfg = scales.settings("ch1.probe", "book")
    x = data.load_digits(cfg.image_size)  # (N, 1, 16, 16) in [-1, 1]
    torch.manual_seed(seed)
    g = nets.DCGANGenerator(cfg.latent_dim, cfg.image_size, cfg.width)
    d = nets.DCGANDiscriminator(cfg.image_size, cfg.width)
    return cfg, x, g, d


def make_gc_dcgan(**_):
    from gancompanion.training import streams, train

    cfg, x, g, d = _digits_dcgan()
    st = streams.DatasetStreams(x, cfg.batch_size, cfg.latent_dim, seed=0)

    def run(n):
        tc = train.TrainConfig(steps=n, lr_d=cfg.gan_lr, lr_g=cfg.gan_lr, betas=cfg.betas, log_every=min(100, n))
        train.train(g, d, st, tc, progress=False)

    return run


def make_hw_dcgan(**_):
    import torch.nn.functional as F

    cfg, x, g, d = _digits_dcgan()
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.gan_lr, betas=cfg.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.gan_lr, betas=cfg.betas)
    b = cfg.batch_size

    def run(n):
        for _ in range(n):
            real = x[torch.randint(len(x), (b,))]
            fake = g(torch.randn(b, cfg.latent_dim))
            d_loss = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            d.requires_grad_(False)
            g_loss = F.softplus(-d(fake)).mean()
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            d.requires_grad_(True)

    return run


MAKERS = {"gancompanion": make_gancompanion, "handwritten": make_handwritten, "floor": make_floor,
          "gc_dcgan": make_gc_dcgan, "hw_dcgan": make_hw_dcgan,
          "torchgan": lambda **kw: make_peer("torchgan", **kw), "vegans": lambda **kw: make_peer("vegans", **kw),
          "mimicry": lambda **kw: make_peer("mimicry", **kw)}


def main() -> None:
    run = None
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "make":
                spec = dict(req["spec"])
                torch.set_num_threads(int(spec.pop("threads", 1)))
                torch.manual_seed(0)
                start = time.perf_counter()
                run = MAKERS[spec.pop("impl")](**spec)
                setup = time.perf_counter() - start
                start = time.perf_counter()
                run(int(req.get("first", 2)))  # the first steps (compilation, allocations) are timed apart
                answer = {"ok": True, "setup_s": setup, "first_s": time.perf_counter() - start,
                          "info": getattr(run, "info", {}), "threads": torch.get_num_threads()}
            elif req["op"] == "time":
                start = time.perf_counter()
                run(int(req["n"]))
                answer = {"seconds": time.perf_counter() - start}
            else:
                answer = {"error": f"unknown op {req['op']!r}"}
        except Exception as exc:  # reported to run.py, which records it and drops this worker
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    os.environ.setdefault("GANCOMPANION_PROGRESS", "0")
    main()
