"""Worker entry points of the benchmarks (started by the parent process, not by people)."""

from __future__ import annotations

import json
import sys


def _tuples(d: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}


def main(argv: list[str]) -> None:
    from glorotcli.bench.core import BenchSettings

    if len(argv) in (3, 4) and argv[0] == "--worker":
        from glorotcli.bench.workers import worker

        threads = int(argv[3]) if len(argv) == 4 else None
        worker(argv[1], BenchSettings(**_tuples(json.loads(argv[2]))), threads)
    elif len(argv) == 2 and argv[0] == "--first-step":
        from glorotcli.bench.workers import first_step

        first_step(BenchSettings(**_tuples(json.loads(argv[1]))))
    elif len(argv) == 2 and argv[0] == "--busy-worker":
        from glorotcli.bench.busy import BusySettings, busy_worker

        busy_worker(BusySettings(**_tuples(json.loads(argv[1]))))
    else:
        sys.exit("usage: python -m glorotcli.bench (--worker IMPL SETTINGS [THREADS] | "
                 "--first-step SETTINGS | --busy-worker SETTINGS)")


main(sys.argv[1:])
