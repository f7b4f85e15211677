"""nnrun and PyTorch timed in turns, each in a worker process of its own (shared by the benchmark scripts).

Each worker imports one library and sets it up as a training run does: nnrun's worker tunes the process's
malloc (``nnrun.utils.tune_malloc()``, which nnrun's Trainer calls when it starts). Both libraries leave
threads spinning after parallel work (OpenBLAS's for up to ~0.1 s, OpenMP's briefly), which in a shared
process would steal a core from whatever the other library runs next. So the workers take turns,
``PAUSE_S`` apart, while the idle one waits on its pipe.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

LIBRARIES = ("nnrun", "torch")
# Between turns: time for the other library's idle threads to stop spinning and sleep.
PAUSE_S = 0.2

Build = Callable[[ModuleType, str], Callable[[], Any]]


def set_thread_variables(threads: int) -> None:
    """BLAS and OpenMP thread counts for this process and the workers it starts (before any import)."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(threads))


def load(lib_name: str, threads: int) -> ModuleType:
    """Import one library, alone in this process, with ``threads`` threads, set up as a training run does."""
    lib = importlib.import_module(lib_name)
    if lib_name == "torch":
        lib.set_num_threads(threads)
    else:
        # as Trainer.fit does (importing nnrun leaves malloc alone); an nnrun older than tune_malloc tuned
        # it at import, so a before-and-after comparison of two trees measures both the same way
        tune = getattr(lib.utils, "tune_malloc", None)
        if tune is not None:
            tune()
    return lib


def mean_seconds(fn: Callable[[], Any], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - start) / count


def calls_per_batch(fn: Callable[[], Any], target_s: float) -> int:
    """How many calls make one timed batch last about ``target_s``."""
    calls = 1
    while True:
        elapsed = mean_seconds(fn, calls) * calls
        if elapsed > target_s / 4:
            return max(1, int(calls * target_s / elapsed))
        calls *= 4


def _serve(build: Build, lib_name: str, threads: int, connection: Any) -> None:
    """A worker: builds ``build(lib, key)`` on first request for ``key`` (and calls it twice to warm up),
    then answers ``("time", key, count)`` with seconds per call and ``("calibrate", key, target_s)`` with
    ``calls_per_batch``; None ends it."""
    lib = load(lib_name, threads)
    connection.send("ready")
    built: dict[str, Callable[[], Any]] = {}
    while (request := connection.recv()) is not None:
        kind, key, value = request
        if key not in built:
            built[key] = build(lib, key)
            built[key]()
            built[key]()
        measure = mean_seconds if kind == "time" else calls_per_batch
        connection.send(measure(built[key], value))


class Turns:
    """One worker process per library (``LIBRARIES``), each timing what ``build`` makes on request; a context
    manager that stops them on exit."""

    def __init__(self, build: Build, threads: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._connections: dict[str, Any] = {}
        self._processes = []
        for lib in LIBRARIES:
            ours, theirs = context.Pipe()
            process = context.Process(target=_serve, args=(build, lib, threads, theirs), daemon=True)
            process.start()
            theirs.close()  # so that a worker that dies is an EOFError here, not a hang
            self._connections[lib] = ours
            self._processes.append(process)
        for connection in self._connections.values():  # both imported before anything is timed
            connection.recv()

    def _ask(self, lib: str, request: tuple[str, str, Any]) -> Any:
        time.sleep(PAUSE_S)
        self._connections[lib].send(request)
        return self._connections[lib].recv()

    def seconds(self, lib: str, key: str, count: int) -> float:
        """Seconds per call of ``key`` in ``lib``'s worker, the mean of ``count`` calls."""
        return self._ask(lib, ("time", key, count))

    def rounds(
        self, keys: Sequence[str], counts: Mapping[str, int], rounds: int
    ) -> dict[tuple[str, str], list[float]]:
        """Seconds per call of every key in every library, ``rounds`` times over: each round runs one
        library's keys in turn (``counts[lib]`` calls each), then the other's."""
        times: dict[tuple[str, str], list[float]] = {(lib, key): [] for lib in LIBRARIES for key in keys}
        for _ in range(rounds):
            for lib, key in times:
                times[lib, key].append(self.seconds(lib, key, counts[lib]))
        return times

    def calibrate(self, lib: str, key: str, target_s: float) -> int:
        """How many calls of ``key`` take about ``target_s`` in ``lib``'s worker."""
        return self._ask(lib, ("calibrate", key, target_s))

    def __enter__(self) -> Turns:
        return self

    def __exit__(self, *exc: object) -> None:
        for connection in self._connections.values():
            connection.send(None)
        for process in self._processes:
            process.join()
