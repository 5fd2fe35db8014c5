"""Pool speed, corral beside multiprocessing, in one run.

    CORRAL_BIN=bin/corral PYTHONPATH=clients/python python3 bench/python/bench_pool.py [--quick]

Python driver, Python workers, 2 workers unless said otherwise:
  map       Pool.map of 100,000 trivial items
  stream    20,000 apply_async, then every get()
  executor  20,000 ProcessPoolExecutor.submit, then every result()
  apply     sequential apply: p50 latency
  ready     Pool(32) created and its first map answered
  manager   Manager().Queue put+get pairs, Manager().dict set+get pairs
            and Manager().Lock acquire+release pairs, from the driver
"""

import concurrent.futures
import multiprocessing
import os
import statistics
import sys
import time

import corral


def trivial(x):
    return x


def bench_map(mod, n):
    with mod.Pool(2) as p:
        p.map(trivial, range(100))
        t = time.perf_counter()
        r = p.map(trivial, range(n))
        dt = time.perf_counter() - t
    assert r[-1] == n - 1
    return dt


def bench_stream(mod, n):
    with mod.Pool(2) as p:
        p.map(trivial, range(100))
        t = time.perf_counter()
        rs = [p.apply_async(trivial, (i,)) for i in range(n)]
        out = [r.get() for r in rs]
        dt = time.perf_counter() - t
    assert out[-1] == n - 1
    return n / dt


def bench_executor(cls, n):
    with cls(max_workers=2) as ex:
        list(ex.map(trivial, range(10)))
        t = time.perf_counter()
        fs = [ex.submit(trivial, i) for i in range(n)]
        out = [f.result() for f in fs]
        dt = time.perf_counter() - t
    assert out[-1] == n - 1
    return n / dt


def bench_apply(mod, n):
    with mod.Pool(2) as p:
        for i in range(200):
            p.apply(trivial, (i,))
        lat = []
        for i in range(n):
            t = time.perf_counter()
            p.apply(trivial, (i,))
            lat.append(time.perf_counter() - t)
    return statistics.median(lat) * 1e6


def bench_ready(mod, n=32):
    t = time.perf_counter()
    p = mod.Pool(n)
    p.map(trivial, range(n), chunksize=1)
    dt = time.perf_counter() - t
    p.terminate()
    p.join()
    return dt


def bench_manager(mod, n):
    """Operations per second on Manager proxies, one after another."""
    out = {}
    with mod.Manager() as m:
        q, d, lock = m.Queue(), m.dict(), m.Lock()

        def rate(f):
            for i in range(n // 10):
                f(i)
            t = time.perf_counter()
            for i in range(n):
                f(i)
            return n / (time.perf_counter() - t)

        def qpair(i):
            q.put(i)
            q.get()

        def dpair(i):
            d["k"] = i
            d["k"]

        def lpair(i):
            lock.acquire()
            lock.release()

        out["queue"] = rate(qpair)
        out["dict"] = rate(dpair)
        out["lock"] = rate(lpair)
    return out


def main():
    quick = "--quick" in sys.argv
    n_map = 20000 if quick else 100000
    n_stream = 5000 if quick else 20000
    n_apply = 500 if quick else 3000
    fs = multiprocessing.get_context("forkserver")
    print("%-34s %12s %12s %8s" % ("", "multiproc.", "corral", "ratio"))

    def row(name, a, b, higher_better):
        ratio = (b / a) if higher_better else (a / b)
        print("%-34s %12.4g %12.4g %7.2fx" % (name, a, b, ratio))

    a = bench_map(multiprocessing, n_map)
    b = bench_map(corral, n_map)
    row("map %d items (s)" % n_map, a, b, False)
    a = bench_stream(multiprocessing, n_stream)
    b = bench_stream(corral, n_stream)
    row("apply_async stream (tasks/s)", a, b, True)
    a = bench_executor(concurrent.futures.ProcessPoolExecutor, n_stream)
    b = bench_executor(corral.ProcessPoolExecutor, n_stream)
    row("executor.submit (tasks/s)", a, b, True)
    c = bench_stream(corral, n_stream)
    row("  corral apply_async vs PPE.submit", a, c, True)
    a = bench_apply(multiprocessing, n_apply)
    b = bench_apply(corral, n_apply)
    row("sequential apply p50 (us)", a, b, False)
    a = bench_ready(fs)
    b = bench_ready(corral)
    row("Pool(32) ready, forkserver (s)", a, b, False)
    n_obj = 2000 if quick else 20000
    a = bench_manager(multiprocessing, n_obj)
    b = bench_manager(corral, n_obj)
    row("Manager queue put+get (pairs/s)", a["queue"], b["queue"], True)
    row("Manager dict set+get (pairs/s)", a["dict"], b["dict"], True)
    row("Manager lock acquire+release (pairs/s)", a["lock"], b["lock"], True)


if __name__ == "__main__":
    main()
