"""gancompanion's benchmarks: one entry point (``make bench``), side-by-side timings, one JSON file.

Every comparison runs its loops in separate worker processes (``worker.py``) that are timed in
turn, round after round (interleaved repeats), so that a drift of this machine's speed hits all
of them alike; ratios are taken within each round and summarised by their median and range.
Sections (all by default; ``--only`` picks some):

- ``toy``: the toy step (1 thread, one seed) of gancompanion, a hand-written loop, the PyPI peers
  (from the separate environment ``.venv-bench``, see ``benchmarks/README.md``) and the compute floor;
- ``seeds``: S in {1, 4, 16, 64} seeds trained at once (2 threads), in seed-steps per second;
- ``scaling``: cost against work (FLOPs per step) over batch sizes and widths, with the floor;
- ``dcgan``: the small DCGAN step on the digits, gancompanion against a hand-written loop;
- ``compile``: ``torch.compile`` against eager on the CPU, with its compile time;
- ``gpu``: on CUDA only, the plain toy step compiled against eager, and 64 seeds against one;
- ``chapters``: every chapter through ``gancompanion run`` at the scales given by ``--scales``.

The results, the machine's description and the performance targets are written to
``benchmarks/results/<name>.json`` (the book's Performance page reads it); sections not run keep
their earlier numbers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
PEERS = ("torchgan", "vegans", "mimicry")
PEER_PACKAGES = {"torchgan": "torchgan==0.1.0", "vegans": "vegans==0.4.0", "mimicry": "torch-mimicry==0.1.16"}
SECTIONS = ("toy", "seeds", "scaling", "dcgan", "compile", "gpu", "chapters")


class Worker:
    """A worker process holding one loop (see worker.py)."""

    def __init__(self, label: str, spec: dict, python: str = sys.executable, block_s: float = 0.4,
                 env: dict | None = None, tree: Path = ROOT):
        """``tree``: the checkout whose library and worker are timed (``--baseline`` gives another one)."""
        self.label, self.spec, self.times, self.error = label, spec, [], None
        threads = str(spec.get("threads", 1))
        bench = Path(tree) / "benchmarks"
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "GANCOMPANION_PROGRESS": "0",
               "PYTHONWARNINGS": "ignore", "PYTHONPATH": os.pathsep.join(
                   ([str(HERE / "peers" / "stubs")] if python != sys.executable else []) + [str(tree), str(bench)]),
               **(env or {})}
        self.proc = subprocess.Popen([python, str(bench / "worker.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env, cwd=str(tree))
        answer = self.ask({"op": "make", "spec": spec, "first": spec.get("first", 2)})
        if not answer.get("ok"):
            self.error = answer.get("error", "worker failed")
            self.close()
            return
        self.setup_s, self.first_s, self.info = answer["setup_s"], answer["first_s"], answer["info"]
        per_step = self.ask({"op": "time", "n": 3})["seconds"] / 3  # calibrate a block to ~block_s
        self.n = max(3, min(400, round(block_s / max(per_step, 1e-6))))

    def ask(self, req: dict) -> dict:
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            return json.loads(line) if line else {"ok": False, "error": "worker exited"}
        except (BrokenPipeError, ValueError) as exc:
            return {"ok": False, "error": f"worker failed: {exc}"}

    def time_block(self) -> None:
        answer = self.ask({"op": "time", "n": self.n})
        if "seconds" not in answer:
            self.error = answer.get("error", "worker failed")
            return
        self.times.append(answer["seconds"] / self.n)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "all": values}


def interleave(workers: dict[str, Worker], rounds: int, log) -> dict[str, Worker]:
    """Time every worker once per round, in an order rotated each round; drop workers that fail."""
    alive = {k: w for k, w in workers.items() if w.error is None}
    keys = list(alive)
    for r in range(rounds):
        order = keys[r % len(keys):] + keys[: r % len(keys)] if keys else []
        for k in order:
            if alive[k].error is None:
                alive[k].time_block()
        log(f"  round {r + 1}/{rounds}: " + ", ".join(
            f"{k} {alive[k].times[-1] * 1e3:.2f}" for k in keys if alive[k].times and alive[k].error is None) + " ms")
    for w in workers.values():
        w.close()
    return workers


def paired(num: Worker, den: Worker) -> dict | None:
    """Per-round ratios num/den of step times (both timed in the same rounds)."""
    if num.error or den.error or not num.times or not den.times:
        return None
    return summary([a / b for a, b in zip(num.times, den.times)])


def worker_record(w: Worker) -> dict:
    if w.error:
        return {"spec": w.spec, "error": w.error}
    return {"spec": w.spec, "step_s": summary(w.times), "setup_s": w.setup_s, "first_s": w.first_s, "info": w.info,
            "block_steps": w.n}


# ------------------------------------------------------------------------------------------
# Sections


def section_toy(args, log) -> dict:
    variants = ("plain", "roth", "wgan_gp")
    workers: dict[str, Worker] = {}
    for v in (*variants, "r1"):
        workers[f"gancompanion/{v}"] = Worker(f"gancompanion/{v}", {"impl": "gancompanion", "variant": v})
    for v in variants:
        workers[f"handwritten/{v}"] = Worker(f"handwritten/{v}", {"impl": "handwritten", "variant": v})
        workers[f"floor/{v}"] = Worker(f"floor/{v}", {"impl": "floor", "variant": v})
        workers[f"floor_matmul/{v}"] = Worker(f"floor_matmul/{v}", {"impl": "floor", "variant": v, "part": "matmul"})
    if args.baseline:  # the same library at another commit, timed side by side (a refactor's before/after)
        for v in variants:
            workers[f"baseline/{v}"] = Worker(f"baseline/{v}", {"impl": "gancompanion", "variant": v},
                                              tree=Path(args.baseline))
    peers = peer_status(args)
    from peers.adapters import EXPRESSIBLE
    for p in PEERS:
        for v in variants:
            why = EXPRESSIBLE[(p, v)]
            peers[p]["variants"][v] = {"same_step": why is None, "note": why}
            if peers[p]["importable"] and (why is None or why.startswith("different step")):
                w = Worker(f"{p}/{v}", {"impl": p, "variant": v}, python=str(args.bench_python))
                if w.error:
                    peers[p]["variants"][v]["error"] = w.error
                workers[f"{p}/{v}"] = w
    # Timed in this order (rotated each round): a variant's loops one after another (R1 with Roth), so that
    # a round's ratios compare blocks timed seconds apart at most (this machine's speed drifts within seconds).
    group = {v: i for i, v in enumerate(variants)} | {"r1": variants.index("roth")}
    workers = dict(sorted(workers.items(), key=lambda kv: group[kv[0].split("/")[1]]))
    log("toy: " + ", ".join(k for k, w in workers.items() if w.error is None))
    interleave(workers, args.rounds, log)
    out = {"threads": 1, "seeds": 1, "batch": 512, "width": 128, "rounds": args.rounds, "peers": peers,
           "loops": {k: worker_record(w) for k, w in workers.items()}, "ratios": {}}
    gc = {v: workers[f"gancompanion/{v}"] for v in (*variants, "r1")}
    for v in variants:
        r = out["ratios"].setdefault(v, {})
        r["handwritten_over_gc"] = paired(workers[f"handwritten/{v}"], gc[v])  # > 1: gancompanion is faster
        r["gc_over_floor"] = paired(gc[v], workers[f"floor/{v}"])
        r["handwritten_over_floor"] = paired(workers[f"handwritten/{v}"], workers[f"floor/{v}"])
        for p in PEERS:
            if f"{p}/{v}" in workers:
                r[f"{p}_over_gc"] = paired(workers[f"{p}/{v}"], gc[v])
        if f"baseline/{v}" in workers:
            r["baseline_over_gc"] = paired(workers[f"baseline/{v}"], gc[v])  # > 1: faster than the baseline
            r["handwritten_over_baseline"] = paired(workers[f"handwritten/{v}"], workers[f"baseline/{v}"])
            r["baseline_over_floor"] = paired(workers[f"baseline/{v}"], workers[f"floor/{v}"])  # the floor before
        fl = workers[f"floor_matmul/{v}"]
        if fl.error is None:
            r["matmul_gflops"] = fl.info["flops"] / statistics.median(fl.times) / 1e9
            r["flops"] = fl.info["flops"]
    out["ratios"]["penalty_over_plain"] = {v: paired(gc[v], gc["plain"]) for v in ("roth", "r1", "wgan_gp")}
    return out


def section_seeds(args, log) -> dict:
    out = {}
    for threads in (2, 1):
        workers = {f"S={s}": Worker(f"S={s}", {"impl": "gancompanion", "seeds": s, "threads": threads})
                   for s in (1, 4, 16, 64)}
        log(f"seeds ({threads} threads)")
        interleave(workers, args.rounds, log)
        one = workers["S=1"]
        rec = {"loops": {k: worker_record(w) for k, w in workers.items()}, "speedup": {}}
        for s in (1, 4, 16, 64):  # seed-steps per second relative to one seed: S * t1 / tS, per round
            w = workers[f"S={s}"]
            rec["speedup"][s] = None if w.error else summary([s * a / b for a, b in zip(one.times, w.times)])
        out[f"threads={threads}"] = rec
    return out


def section_scaling(args, log) -> dict:
    configs = [(b, 128) for b in (64, 128, 256, 512, 1024, 2048)] + [(512, w) for w in (32, 64, 256, 512)]
    workers = {}
    for b, w in configs:
        workers[f"gc b={b} w={w}"] = Worker("", {"impl": "gancompanion", "batch": b, "width": w})
        workers[f"floor b={b} w={w}"] = Worker("", {"impl": "floor", "batch": b, "width": w})
    log("scaling")
    interleave(workers, max(3, args.rounds - 2), log)
    rows = []
    for b, w in configs:
        gc, fl = workers[f"gc b={b} w={w}"], workers[f"floor b={b} w={w}"]
        rows.append({"batch": b, "width": w, "flops": fl.info.get("flops") if fl.error is None else None,
                     "gc_step_s": summary(gc.times) if gc.error is None else None,
                     "floor_step_s": summary(fl.times) if fl.error is None else None,
                     "gc_over_floor": paired(gc, fl)})
    return {"threads": 1, "rows": rows}


def section_dcgan(args, log) -> dict:
    workers = {"gancompanion": Worker("", {"impl": "gc_dcgan"}), "handwritten": Worker("", {"impl": "hw_dcgan"})}
    log("dcgan")
    interleave(workers, args.rounds, log)
    return {"threads": 1, "model": "ch1.probe at book scale: 16x16 digits, width 16, latent 16, batch 64",
            "loops": {k: worker_record(w) for k, w in workers.items()},
            "handwritten_over_gc": paired(workers["handwritten"], workers["gancompanion"])}


def section_compile(args, log) -> dict:
    workers = {"eager": Worker("", {"impl": "gancompanion", "compile": False}),
               "compiled": Worker("", {"impl": "gancompanion", "compile": True, "first": 2},  # a cold compile:
                                  env={"TORCHINDUCTOR_CACHE_DIR": tempfile.mkdtemp(prefix="inductor-")})}
    log("compile")
    interleave(workers, max(3, args.rounds - 2), log)
    return {"threads": 1, "variant": "plain", "loops": {k: worker_record(w) for k, w in workers.items()},
            "eager_over_compiled": paired(workers["eager"], workers["compiled"]),
            "compile_s": None if workers["compiled"].error else workers["compiled"].first_s}


def section_gpu(args, log) -> dict:
    import torch

    if not torch.cuda.is_available():
        return {"skipped": "no CUDA device on this machine"}
    workers = {"eager S=1": Worker("", {"impl": "gancompanion", "device": "cuda"}),
               "compiled S=1": Worker("", {"impl": "gancompanion", "device": "cuda", "compile": True}),
               "compiled S=64": Worker("", {"impl": "gancompanion", "device": "cuda", "compile": True, "seeds": 64}),
               "eager S=64": Worker("", {"impl": "gancompanion", "device": "cuda", "seeds": 64})}
    log("gpu")
    interleave(workers, args.rounds, log)
    return {"device": torch.cuda.get_device_name(0), "loops": {k: worker_record(w) for k, w in workers.items()},
            "eager_over_compiled": paired(workers["eager S=1"], workers["compiled S=1"]),
            "cost_64_over_1": paired(workers["compiled S=64"], workers["compiled S=1"]),
            "cost_64_over_1_eager": paired(workers["eager S=64"], workers["eager S=1"])}


def section_chapters(args, log) -> dict:
    """Wall time of every chapter at each scale in ``--scales``.

    By default each chapter is executed afresh through ``gancompanion run --force``. With
    ``--from-executed`` the times are read instead from papermill's record in the executed notebooks of
    the last run (``_build/executed/<scale>/``), e.g. of ``make book SCALE=book``, so that a book build
    need not be repeated to be timed.
    """
    sys.path.insert(0, str(ROOT))
    import nbformat

    from gancompanion.pipeline import runner

    out = {}
    for scale in args.scales:
        for nb in runner.chapters(ROOT):
            if args.from_executed:
                path = ROOT / "_build" / "executed" / scale / f"{nb.stem}.ipynb"
                if not path.exists():
                    raise SystemExit(f"--from-executed: no executed notebook {path}; run `make book SCALE={scale}`")
                pm = nbformat.read(path, as_version=4).metadata.papermill
                out.setdefault(scale, {})[nb.stem] = {
                    "seconds": pm["duration"], "ok": pm.get("exception") is None, "parameters": pm["parameters"],
                    "started": pm["start_time"], "source": "papermill record of the last run"}
                continue
            log(f"chapter {nb.stem} at {scale}")
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "gancompanion", "run", nb.stem, "--scale", scale, "--force",
                                   "--quiet", "--device", "cpu"], cwd=ROOT, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
            out.setdefault(scale, {})[nb.stem] = {"seconds": time.perf_counter() - start, "ok": proc.returncode == 0,
                                                  "output": proc.stdout[-500:] + proc.stderr[-500:]}
    return out


# ------------------------------------------------------------------------------------------


def peer_status(args) -> dict:
    """Whether each peer imports in the benchmark environment, and how it was installed."""
    status = {}
    for p in PEERS:
        rec = {"package": PEER_PACKAGES[p], "importable": False, "variants": {}}
        if not Path(args.bench_python).exists():
            rec["error"] = f"no benchmark environment at {args.bench_python}: run `make bench-env` first"
        else:
            code = ("import peers.adapters as a; a._import_mimicry(); import torch_mimicry.nets.gan.gan"
                    if p == "mimicry" else f"import {p}")
            proc = subprocess.run([str(args.bench_python), "-c", code], capture_output=True, text=True, cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE / "peers" / "stubs"),
                                                                                   str(HERE)])})
            rec["importable"] = proc.returncode == 0
            if proc.returncode:
                rec["error"] = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "import failed"
        status[p] = rec
    return status


def machine() -> dict:
    import torch

    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "torch": torch.__version__, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cuda": torch.cuda.is_available(), "load_average": list(os.getloadavg()),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}


def targets(res: dict) -> list[dict]:
    """The performance targets, each with its measured value and whether it passed (None: not measured)."""
    out = []

    def add(name, value, goal, ok, note=None):
        out.append({"target": name, "value": value, "goal": goal, "pass": ok, "note": note})

    toy = res.get("toy", {}).get("ratios", {})
    for v in ("plain", "roth", "wgan_gp"):
        r = toy.get(v, {})
        hw = r.get("handwritten_over_gc")
        add(f"CPU 1 thread, {v}: gancompanion speed / hand-written", hw and hw["median"], ">= 0.95",
            hw and hw["median"] >= 0.95)
        for p in PEERS:
            pr = r.get(f"{p}_over_gc")
            note = res.get("toy", {}).get("peers", {}).get(p, {}).get("variants", {}).get(v, {})
            if pr is not None and note.get("same_step"):
                add(f"CPU 1 thread, {v}: gancompanion speed / {p}", pr["median"], ">= 1.05", pr["median"] >= 1.05)
        fl = r.get("gc_over_floor")
        add(f"CPU 1 thread, {v}: gancompanion time / compute floor", fl and fl["median"], "<= 1.3 (goal)",
            fl and fl["median"] <= 1.3)
    for v, r in toy.get("penalty_over_plain", {}).items():
        add(f"CPU 1 thread: {v} step / plain step", r and r["median"], "<= 1.6", r and r["median"] <= 1.6)
    seeds = res.get("seeds", {})
    s16 = seeds.get("threads=2", {}).get("speedup", {}).get("16") or seeds.get("threads=2", {}).get("speedup", {}).get(16)
    ok, note = s16 and s16["median"] >= 1.6, None
    try:  # one seed slower on 2 threads than on 1: the cores were busy with other work, the ratio means nothing
        one = {k: seeds[k]["loops"]["S=1"]["step_s"]["median"] for k in ("threads=1", "threads=2")}
        if one["threads=2"] > one["threads=1"]:
            ok, note = None, (f"inconclusive: one seed took {one['threads=2'] * 1e3:.0f} ms per step on 2 threads "
                              f"against {one['threads=1'] * 1e3:.0f} ms on 1, so the second core was busy with "
                              "other work while this was measured")
    except KeyError:
        pass
    add("CPU 2 threads: seed-steps/s of 16 seeds / of 1 seed", s16 and s16["median"], ">= 1.6", ok, note)
    s16_1 = seeds.get("threads=1", {}).get("speedup", {}).get("16")
    if s16_1:
        add("CPU 1 thread: seed-steps/s of 16 seeds / of 1 seed (context, no goal)", s16_1["median"], "-", None)
    ch = res.get("chapters", {}).get("book")
    total = None
    if ch and all("started" in c for c in ch.values()):  # chapters may have run at once: first start to last end
        starts = {n: dt.datetime.fromisoformat(c["started"]).timestamp() for n, c in ch.items()}
        total = max(starts[n] + c["seconds"] for n, c in ch.items()) - min(starts.values())
    elif ch:  # timed one after another
        total = sum(c["seconds"] for c in ch.values())
    add("whole book at scale book on 2 CPU cores, minutes", total and total / 60, "< 30", total and total / 60 < 30)
    gpu = res.get("gpu", {})
    r = gpu.get("eager_over_compiled")
    add("GPU: plain step, eager time / compiled time", r and r["median"], ">= 5", r and r["median"] >= 5,
        gpu.get("skipped"))
    r = gpu.get("cost_64_over_1")
    add("GPU: cost of a step of 64 seeds / of 1 seed", r and r["median"], "<= 2", r and r["median"] <= 2,
        gpu.get("skipped"))
    for name, goal in (("whole book at scale book on a GPU, minutes", "< 5"),
                       ("whole book at scale paper on a GPU, minutes", "< 30")):
        add(name, None, goal, None)  # not timed by this script on a GPU yet
    return out


def print_table(res: dict) -> None:
    print("\n== targets")
    for t in res["targets"]:
        value = "not measured" if t["value"] is None else f"{t['value']:.3f}"
        verdict = {True: "PASS", False: "FAIL", None: "-"}[t["pass"] if t["pass"] is None else bool(t["pass"])]
        print(f"  {verdict:5s} {t['target']:62s} {value:>13s}  (goal {t['goal']})"
              + (f"\n        {t['note']}" if t.get("note") else ""))
    toy = res.get("toy")
    if toy:
        print("\n== toy step, 1 thread, one seed: median ms per step [min-max]")
        for k, rec in toy["loops"].items():
            if "error" in rec:
                print(f"  {k:26s} error: {rec['error']}")
            else:
                s = rec["step_s"]
                print(f"  {k:26s} {s['median'] * 1e3:8.2f}  [{s['min'] * 1e3:.2f}-{s['max'] * 1e3:.2f}]")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", choices=SECTIONS, help="sections to run (default: all but chapters)")
    p.add_argument("--scales", nargs="+", default=["smoke"], choices=("smoke", "book", "paper"),
                   help="scales of the chapters section (default: smoke)")
    p.add_argument("--from-executed", action="store_true",
                   help="chapters: read the times of the last executed notebooks instead of running them again")
    p.add_argument("--rounds", type=int, default=11, help="interleaved rounds per comparison (default 11)")
    p.add_argument("--baseline", default=None,
                   help="a checkout of the library at another commit (e.g. `git worktree add /tmp/base HEAD~1`): "
                        "the toy section times it beside this one")
    p.add_argument("--out", default=str(HERE / "results" / "cpu-2core.json"), help="the JSON file to write")
    p.add_argument("--bench-python", default=str(BENCH_PYTHON), help="python of the peers' environment")
    args = p.parse_args(argv)
    sections = args.only or [s for s in SECTIONS if s != "chapters"]
    out = Path(args.out)
    res = json.loads(out.read_text()) if out.exists() else {}
    log = lambda msg: print(msg, flush=True)  # noqa: E731
    res["machine"] = machine()
    for s in sections:
        start, load = time.perf_counter(), os.getloadavg()[0]
        new = globals()[f"section_{s}"](args, log)
        new["load_average"] = {"before": load, "after": os.getloadavg()[0]}  # other work on the machine
        res[s] = {**res.get(s, {}), **new} if s == "chapters" else new  # chapters: keep the other scales
        res[s]["measured_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        res[s]["wall_s"] = time.perf_counter() - start
    res["targets"] = targets(res)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=1, default=str))
    os.replace(tmp, out)
    print_table(res)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
