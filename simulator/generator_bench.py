"""Benchmark of the generator: throughput (lines/s) and peak memory.

Generation runs in a fresh child process so that its peak RSS is its own, not the caller's
(pytest, Spark, an earlier run). Usage: `python -m simulator.generator_bench small 7 [gzip_level]`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from core.settings import child_environment, environment_value

_CHILD = """
import datetime as dt, json, resource, sys, time
from simulator import generate
t0, c0 = time.perf_counter(), time.process_time()
out = generate(sys.argv[1], dt.date.fromisoformat(sys.argv[2]), int(sys.argv[3]), sys.argv[4],
               int(sys.argv[5]), progress=sys.argv[6] == "1", gzip_level=int(sys.argv[7]))
out["wall_seconds"] = time.perf_counter() - t0
out["cpu_seconds"] = time.process_time() - c0
self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
out["peak_kb"] = max(self_kb, kids_kb)
print(json.dumps(out))
"""


def bench_generate(
    scale: str,
    days: int,
    tmpdir: str | os.PathLike,
    seed: int = 1,
    start: str = "2026-04-22",
    progress: bool = False,
    gzip_level: int = 1,
) -> dict:
    """Generate `days` days of `scale` under tmpdir and report throughput and peak memory.

    Returns lines (all sources), seconds (wall, generation only), lines_per_s, peak_mb (max
    RSS of the generating process and its children), cpu_seconds, output_mb and files.
    `lines_per_cpu_s` is the throughput a fully idle machine would reach on one core: on a
    shared, oversubscribed host wall time says more about the neighbours than the generator.
    """
    lake = Path(tmpdir) / f"bench-{scale}-{days}d-{seed}"
    root = Path(__file__).resolve().parent.parent
    env = child_environment(
        PYTHONPATH=os.pathsep.join(filter(None, [str(root), environment_value("PYTHONPATH")]))
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(lake),
            start,
            str(days),
            scale,
            str(seed),
            "1" if progress else "0",
            str(gzip_level),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    if progress and proc.stderr:
        sys.stderr.write(proc.stderr)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    lines = sum(out["lines"].values())
    size = sum(p.stat().st_size for p in (lake / "raw").rglob("*.jsonl.gz"))
    return {
        "scale": scale,
        "days": days,
        "lines": lines,
        "interactions": out["lines"]["interactions"],
        "seconds": round(out["wall_seconds"], 2),
        "lines_per_s": round(lines / out["wall_seconds"]),
        "cpu_seconds": round(out["cpu_seconds"], 2),
        "lines_per_cpu_s": round(lines / out["cpu_seconds"]),
        "gzip_level": gzip_level,
        # the child's own peak; RUSAGE_CHILDREN bounds it from above (it is a max over all
        # children this process ever waited for)
        "peak_mb": round(out["peak_kb"] / 1024, 1),
        "peak_mb_children_bound": round(kids_kb / 1024, 1),
        "output_mb": round(size / 2**20, 1),
        "files": out["files"],
        "lake": str(lake),
    }


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    scale = args[0] if args else "small"
    days = int(args[1]) if len(args) > 1 else 7
    level = int(args[2]) if len(args) > 2 else 1
    with tempfile.TemporaryDirectory(prefix="riskgen-") as tmp:
        res = bench_generate(scale, days, tmp, progress=True, gzip_level=level)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
