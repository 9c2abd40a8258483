"""Benchmark helpers: peak memory of this process tree (driver + Spark JVM) and the results file."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import psutil


class PeakMemory:
    """Samples the resident memory of this process and its children (the Spark JVM)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_bytes = max(self.peak_bytes, self._sample())


@contextmanager
def measure() -> Iterator[dict]:
    """Wall time and peak memory of the block, filled into the yielded dict on exit."""
    out: dict = {}
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        yield out
    out["seconds"] = round(time.perf_counter() - t0, 3)
    out["peak_memory_mb"] = round(mem.peak_bytes / 2**20, 1)


def write_results(directory: str, stage: str, results: dict) -> str:
    os.makedirs(directory, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(directory, f"bench-{stage}-{stamp}.json")
    with open(path, "w") as fh:
        json.dump(results, fh, indent=2, default=str)
    return path
