"""The ``gancompanion`` command: ``run`` chapters, build the ``book``, print the ``claims`` ledger."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time

from . import runner
from .. import validation
from .scales import SCALES


def _jobs(text: str) -> int:
    try:
        return validation.positive_int("--jobs", int(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc) if "--jobs" in str(exc) else
                                         f"--jobs must be an integer >= 1, got {text!r}") from None


def _seed(text: str) -> int:
    try:
        return validation.seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed must be an integer >= 0, got {text!r}") from None


def _common(p: argparse.ArgumentParser, default_scale: str) -> None:
    p.add_argument("--scale", choices=SCALES, default=default_scale, help=f"experiment sizes (default {default_scale})")
    p.add_argument("--device", choices=runner.DEVICES, default="auto", help="cpu, cuda or auto (default: auto)")
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=_seed, default=0, help="seed of every experiment (default 0)")
    if default_scale == "smoke":  # ``run`` only: the book is built from one seed
        seeds.add_argument("--seeds", nargs="+", default=None, metavar="SEEDS",
                           help="run the chapters once per seed: seeds and ranges, e.g. --seeds 0 1 2, 0,1,2 or "
                                "0-2 (as in sweep; the claims ledger shows each claim's verdict on every seed)")
    p.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="any other notebook parameter, e.g. -p noise_scale 0.25 (repeatable); it goes to the "
                        "chapters that have it, and is an error if none of them does")
    p.add_argument("--jobs", type=_jobs, default=1, help="notebooks executed at once (an integer >= 1, default 1)")
    p.add_argument("--force", action="store_true", help="re-run notebooks even if nothing changed")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _params(args) -> dict:
    params = {"scale": args.scale, "device": args.device, "seed": args.seed}
    for name, value in args.param:
        if name in runner.CORE_PARAMETERS:
            raise ValueError(f"pass {name!r} as --{name}, not with -p")
        if name in params:
            raise ValueError(f"parameter {name!r} is given twice (-p {name} ... -p {name} ...); give it once "
                             f"(to run several values, use: gancompanion sweep ... -p {name} V1,V2)")
        params[name] = runner.parse_value(value)
    return params


def seed_list(tokens) -> list[int]:
    """``--seeds`` of ``run`` and ``sweep``: one or more words, each a seed, a comma list or a range a-b
    (``0 1 2``, ``0,1,2``, ``0-2``), as distinct seeds in order."""
    from .sweep import parse_seeds

    tokens = [tokens] if isinstance(tokens, str) else list(tokens)
    return list(dict.fromkeys(s for t in tokens for s in parse_seeds(t)))


def cmd_run(args) -> int:
    root = runner.project_root()
    notebooks = runner.unique([runner.find_chapter(root, n) for n in args.notebooks]) or runner.chapters(root)
    seeds = seed_list(args.seeds) if args.seeds else [args.seed]
    _params(args)  # a repeated -p stops here, before anything runs
    start = time.perf_counter()
    outcomes = []
    for seed in seeds:  # each seed once, in order
        args.seed = seed
        outcomes += runner.run_all(notebooks, _params(args), root, jobs=args.jobs, force=args.force,
                                   progress=not args.quiet)
    for o in outcomes:
        print(f"{o.notebook}: {o.status} in {o.seconds:.1f} s -> {o.output}" + (f"\n  {o.error}" if o.error else ""))
    print(f"total {time.perf_counter() - start:.1f} s")
    return 1 if any(o.status == "failed" for o in outcomes) else 0


def cmd_book(args) -> int:
    from . import book

    root = runner.project_root()
    start = time.perf_counter()
    index = book.build(root, _params(args), jobs=args.jobs, force=args.force, execute=not args.no_run,
                       progress=not args.quiet)
    print(f"book built in {time.perf_counter() - start:.0f} s: {index}")
    return 0


def cmd_claims(args) -> int:
    from . import claims

    problems: list[str] = []
    records = [r for r in claims.load_records(problems=problems) if args.scale in (None, r["scale"])]
    for p in problems:
        print(f"gancompanion: warning: {p}", file=sys.stderr)
    if not records:
        print("no claim records yet: run the notebooks first (gancompanion run)")
        return 1
    for r in records:
        made, where = claims.made_by(r)
        print(f"{made} CLAIM {r['id']}: {r['status']} {r.get('evidence', '')}" + (f"  ({where})" if where else ""))
        if claims.stale_note(r):
            print(f"  ! {claims.stale_note(r)}")
    return 1 if any(r["status"] in ("FAIL", "NOT REPRODUCED") for r in records) and args.strict else 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gancompanion", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="execute chapters through papermill")
    p_run.add_argument("notebooks", nargs="*", help="chapters to run (name, stem or number; default: all)")
    _common(p_run, "smoke")
    p_run.set_defaults(func=cmd_run)
    p_book = sub.add_parser("book", help="execute every chapter and build the HTML book")
    _common(p_book, "book")
    p_book.add_argument("--no-run", action="store_true", help="build from the notebooks already executed")
    p_book.set_defaults(func=cmd_book)
    p_claims = sub.add_parser("claims", help="print the claims ledger from the recorded checks")
    p_claims.add_argument("--scale", choices=SCALES, default=None, help="only this scale")
    p_claims.add_argument("--strict", action="store_true", help="exit 1 if any claim FAILed or was NOT REPRODUCED")
    p_claims.set_defaults(func=cmd_claims)
    from . import sweep  # the ``sweep`` subcommand: chapters over seeds and parameters, locally or on Dask

    sweep.add_parser(sub)
    return p


def _terminate_as_interrupt(signum, frame) -> None:
    """SIGTERM (``kill``, ``timeout``, a cancelled CI job) does what Ctrl-C does: the running cell is
    interrupted, its partial notebook kept as ``.failed.ipynb``, the kernel's sockets removed."""
    os.kill(os.getpid(), signal.SIGINT)


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage and the error (or the help)
        return exc.code if isinstance(exc.code, int) else 2
    in_main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _terminate_as_interrupt) if in_main else None
    try:
        return _main(args)
    finally:
        if old is not None:
            signal.signal(signal.SIGTERM, old)


def _main(args) -> int:
    try:
        return args.func(args)
    except runner.GancompanionError as exc:
        print(f"gancompanion: {'' if isinstance(exc, runner.Interrupted) else 'error: '}{exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("gancompanion: interrupted; every chapter's last complete outputs and claim records are kept. "
              "Run the same command again to resume (finished chapters are skipped).", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError) as exc:
        print(f"gancompanion: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a read-only folder, a file where a folder should be, a held lock
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        print(f"gancompanion: error: {exc.strerror or exc}{where}; nothing was lost: the last complete outputs "
              f"are kept. Fix that and run the same command again.", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
