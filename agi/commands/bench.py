"""`callticket bench <name>`: benchmarks that print JSON figures.

Each module `bench/<name>.py` that defines `register(bench_subparsers)` adds
one sub-command (nlu, dialogue, speech, outbox, asterisk, ...).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def _usage(parser: argparse.ArgumentParser):
    def show(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print its figures")
    bench_subparsers = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    parser.set_defaults(func=_usage(parser))
    try:
        import bench
    except ImportError:  # an install without the benchmarks
        return
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        try:
            module = importlib.import_module(f"bench.{info.name}")
        except Exception as exc:  # one broken benchmark must not take the whole CLI down
            broken = bench_subparsers.add_parser(info.name, help=f"(unavailable: {exc})")
            broken.set_defaults(func=_broken(info.name, exc))
            continue
        hook = getattr(module, "register", None)
        if callable(hook):
            hook(bench_subparsers)


def _broken(name: str, exc: Exception):
    def report(_args: argparse.Namespace) -> int:
        print(f"bench {name}: cannot load: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2

    return report
