"""Pool, AsyncResult and ProcessPoolExecutor against a real supervisor and
real Python workers."""

import concurrent.futures
import os
import pickle
import queue
import sys
import threading
import time
import unittest

import corral
from corral import Pool, ProcessPoolExecutor, TimeoutError

import shim_funcs as F
from shim_support import run_script

# A command worker is any program: a Python one finds this package through
# PYTHONPATH, as the driver's sys.path is not passed to it.
_PKG_ENV = {"PYTHONPATH": os.pathsep.join(
    [os.path.dirname(os.path.dirname(os.path.abspath(corral.__file__)))]
    + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else []))}


class PoolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pool = Pool(2)

    @classmethod
    def tearDownClass(cls):
        cls.pool.terminate()
        cls.pool.join()

    def test_map(self):
        self.assertEqual(self.pool.map(F.double, range(10)), [x * 2 for x in range(10)])
        self.assertEqual(self.pool.map(F.double, []), [])
        self.assertEqual(self.pool.map(F.double, iter([1, 2, 3]), chunksize=2), [2, 4, 6])
        self.assertEqual(self.pool.map(F.double, range(1000), chunksize=7), [x * 2 for x in range(1000)])

    def test_map_large(self):
        n = 20000
        self.assertEqual(self.pool.map(F.double, range(n)), [x * 2 for x in range(n)])

    def test_starmap(self):
        self.assertEqual(self.pool.starmap(F.add, [(1, 2), (3, 4)]), [3, 7])
        self.assertEqual(self.pool.starmap_async(F.add, [(1, 2)]).get(10), [3])

    def test_apply(self):
        self.assertEqual(self.pool.apply(F.add, (1, 2), {"c": 3}), 6)
        self.assertEqual(self.pool.apply(F.add, (1,)), 1)
        self.assertNotEqual(self.pool.apply(F.pid), os.getpid())
        # A builtin by reference, as in the tutorials' apply_async(os.getpid, ()).
        self.assertNotEqual(self.pool.apply(os.getpid, ()), os.getpid())

    def test_bound_method_and_objects(self):
        d = F.Doubler(3)
        self.assertEqual(self.pool.apply(d.times, (5,)), 15)
        self.assertEqual(self.pool.map(d.times, [1, 2]), [3, 6])
        self.assertEqual(self.pool.apply(F.identity, ({"a": (1, 2), "b": {3}},)), {"a": (1, 2), "b": {3}})
        self.assertEqual(self.pool.apply(F.identity, (b"\x00\xff",)), b"\x00\xff")

    def test_apply_async_and_callbacks(self):
        got, errs = [], []
        done = threading.Event()
        r = self.pool.apply_async(F.double, (21,), callback=lambda v: (got.append(v), done.set()))
        self.assertEqual(r.get(10), 42)
        self.assertTrue(r.ready())
        self.assertTrue(r.successful())
        done.wait(5)
        self.assertEqual(got, [42])
        e = self.pool.apply_async(F.fail, (1,), error_callback=errs.append)
        e.wait(10)
        self.assertTrue(e.ready())
        self.assertFalse(e.successful())
        self.assertEqual(len(errs), 1)
        self.assertIsInstance(errs[0], ValueError)
        results = [self.pool.apply_async(F.double, (i,)) for i in range(200)]
        self.assertEqual([x.get(10) for x in results], [i * 2 for i in range(200)])

    def test_map_async_callback(self):
        got = []
        r = self.pool.map_async(F.double, [1, 2, 3], callback=got.append)
        self.assertEqual(r.get(10), [2, 4, 6])
        self.assertEqual(got, [[2, 4, 6]])

    def test_get_timeout(self):
        r = self.pool.apply_async(F.sleep_return, (0.5, "late"))
        with self.assertRaises(TimeoutError):
            r.get(timeout=0.05)
        self.assertIsInstance(TimeoutError(), corral.ProcessError)
        with self.assertRaises(ValueError):
            r.successful()
        self.assertEqual(r.get(10), "late")

    def test_exception_type_and_cause(self):
        with self.assertRaises(ValueError) as cm:
            self.pool.apply(F.fail, (7,))
        self.assertEqual(str(cm.exception), "bad item 7")
        cause = cm.exception.__cause__
        self.assertIsInstance(cause, corral.RemoteTraceback)
        self.assertIn("raise ValueError", str(cause))
        self.assertIn("shim_funcs.py", str(cause))
        with self.assertRaises(F.CustomError) as cm:
            self.pool.apply(F.fail_custom, (3,))
        self.assertEqual((cm.exception.code, cm.exception.why), (3, "custom failure"))
        with self.assertRaises(KeyError):
            self.pool.starmap(F.fail_on, [(i, 5) for i in range(10)], chunksize=3)

    def test_imap(self):
        self.assertEqual(list(self.pool.imap(F.double, range(10))), [x * 2 for x in range(10)])
        self.assertEqual(list(self.pool.imap(F.double, range(10), chunksize=3)), [x * 2 for x in range(10)])
        self.assertEqual(sorted(self.pool.imap_unordered(F.double, range(10))), [x * 2 for x in range(10)])
        self.assertEqual(list(self.pool.imap(F.double, [])), [])
        it = self.pool.imap(F.fail_on, [0, 1, 2], chunksize=1)
        # fail_on needs two arguments: the error is the item's, and the
        # stream goes on.
        with self.assertRaises(TypeError):
            next(it)

    def test_imap_error_then_continue(self):
        it = self.pool.imap(F.fail, [1])
        with self.assertRaises(ValueError):
            next(it)
        with self.assertRaises(StopIteration):
            next(it)
        res = []
        it = self.pool.imap(F.double, [1, 2, 3])
        res.append(it.next(timeout=10))
        self.assertEqual(res + list(it), [2, 4, 6])

    def test_imap_timeout(self):
        it = self.pool.imap(F.sleep_return, [0.5])
        with self.assertRaises(TimeoutError):
            it.next(timeout=0.05)

    def test_imap_abandoned(self):
        # A loop broken out of leaves the pool usable.
        for x in self.pool.imap(F.sleep_return, [0.01] * 50):
            break
        self.assertEqual(self.pool.apply(F.double, (2,)), 4)

    def test_worker_names(self):
        names = {self.pool.apply(F.whoami) for _ in range(6)}
        for name, ppid in names:
            self.assertRegex(name, r"^SpawnPoolWorker-\d+$")
            self.assertEqual(ppid, os.getpid())

    def test_target_runs_in_main_thread(self):
        self.assertTrue(self.pool.apply(F.main_thread))

    def test_lambda_and_local_rejected_at_submission(self):
        with self.assertRaises(pickle.PicklingError) as cm:
            self.pool.apply_async(lambda x: x, (1,))
        self.assertIn("lambda", str(cm.exception))

        def local(x):
            return x
        with self.assertRaises(pickle.PicklingError) as cm:
            self.pool.map(local, [1])
        self.assertIn("local function", str(cm.exception))
        self.assertEqual(self.pool.apply(F.double, (1,)), 2)

    def test_unpicklable_argument(self):
        with self.assertRaises(TypeError) as cm:
            self.pool.apply_async(F.identity, (threading.Lock(),))
        self.assertIn("pickle", str(cm.exception))
        with self.assertRaises(TypeError):
            self.pool.map(F.identity, [1, threading.Lock()])
        # The pool is intact.
        self.assertEqual(self.pool.map(F.double, [1, 2]), [2, 4])

    def test_unpicklable_result(self):
        with self.assertRaises(TypeError) as cm:
            self.pool.apply(F.unpicklable_result)
        self.assertIn("pickle", str(cm.exception))
        self.assertEqual(self.pool.apply(F.double, (3,)), 6)

    def test_workers_get_driver_env_and_path(self):
        os.environ["CORRAL_TEST_FRESH_VAR"] = "fresh"
        try:
            with Pool(1) as p:
                self.assertEqual(p.apply(F.env_of, ("CORRAL_TEST_FRESH_VAR",)), "fresh")
        finally:
            del os.environ["CORRAL_TEST_FRESH_VAR"]

    def test_not_running(self):
        p = Pool(1)
        p.close()
        with self.assertRaises(ValueError):
            p.apply_async(F.double, (1,))
        p.join()
        p2 = Pool(1)
        with self.assertRaises(ValueError):
            p2.join()
        p2.terminate()
        p2.join()
        with self.assertRaises(ValueError):
            Pool(0)
        with self.assertRaises(NotImplementedError):
            pickle.dumps(self.pool)


class PoolLifecycleTest(unittest.TestCase):
    def test_initializer_and_maxtasksperchild(self):
        with Pool(2, initializer=F.init_state, initargs=("ready",)) as p:
            self.assertEqual(p.map(F.read_state, range(4)), ["ready"] * 4)
        with Pool(1, maxtasksperchild=1) as p:
            pids = {p.apply(F.pid) for _ in range(3)}
        self.assertEqual(len(pids), 3)

    def test_close_join_runs_pending(self):
        p = Pool(2)
        rs = [p.apply_async(F.sleep_return, (0.05, i)) for i in range(6)]
        p.close()
        p.join()
        self.assertEqual([r.get(0) for r in rs], list(range(6)))

    def test_terminate_fails_pending(self):
        p = Pool(1)
        r = p.apply_async(F.sleep_return, (30, "never"))
        time.sleep(0.2)
        t = time.monotonic()
        p.terminate()
        with self.assertRaises(corral.Terminated):
            r.get(10)
        self.assertLess(time.monotonic() - t, 10)
        p.join()

    def test_worker_killed_mid_task(self):
        with Pool(2) as p:
            r = p.apply_async(F.kill_self)
            with self.assertRaises(corral.WorkerLost) as cm:
                r.get(30)
            self.assertIn("lost", str(cm.exception))
            self.assertEqual(cm.exception.data.get("fn"), "py:shim_funcs:kill_self")
            # The pool goes on.
            self.assertEqual(p.map(F.double, range(5)), [0, 2, 4, 6, 8])

    def test_command_pool_with_serve(self):
        import tempfile
        d = tempfile.mkdtemp()
        worker = os.path.join(d, "w.py")
        with open(worker, "w") as f:
            f.write("import corral\n"
                    "def double(x):\n    print('doubling', x)\n    return x * 2\n"
                    "def fail(x):\n    raise ValueError('no %s' % x)\n"
                    "corral.serve({'double': double, 'fail': fail})\n")
        with Pool(2, command=[sys.executable, worker], env=_PKG_ENV) as p:
            self.assertEqual(p.map("double", [1, 2, 3]), [2, 4, 6])
            self.assertEqual(p.apply("double", (21,)), 42)
            self.assertEqual(list(p.imap("double", [4, 5])), [8, 10])
            with self.assertRaises(ValueError) as cm:
                p.apply("fail", (1,))
            self.assertIn("no 1", str(cm.exception))
            with self.assertRaises(corral.UnknownFunction):
                p.apply("nope", (1,))
        with Pool(2, command=[sys.executable, worker], stdio="fds", env=_PKG_ENV) as p:
            self.assertEqual(p.map("double", [1, 2]), [2, 4])

    def test_command_pool_shell(self):
        # A bash worker speaking the protocol by hand: any command works.
        import tempfile
        d = tempfile.mkdtemp()
        script = os.path.join(d, "w.sh")
        with open(script, "w") as f:
            f.write(r'''#!/bin/bash
while IFS= read -r line; do
  id=$(sed -E 's/^[{]"jsonrpc":"2.0","id":([0-9]+).*/\1/' <<<"$line")
  case $line in
    *corral.hello*) printf '{"jsonrpc":"2.0","id":%s,"result":{"protocol":"corral/1","role":"worker","functions":["inc"]}}\n' "$id" ;;
    *task.run*) n=$(sed -E 's/.*"args":\[([0-9]+)\].*/\1/' <<<"$line"); printf '{"jsonrpc":"2.0","id":%s,"result":%d}\n' "$id" $((n+1)) ;;
  esac
done
''')
        os.chmod(script, 0o755)
        with Pool(2, command=[script], hello_timeout=5) as p:
            self.assertEqual(p.map("inc", [1, 2, 3]), [2, 3, 4])


class PoolObjectsTest(unittest.TestCase):
    """A task's writes to shared objects, and shared objects crossing to
    workers in other languages as handles."""

    def test_task_writes_seen_after_result(self):
        q = corral.Queue()
        with Pool(2) as p:
            for _ in range(3):
                # The writes go without waiting, and are flushed before the
                # result: all of them are there once it is.
                self.assertIs(p.apply(F.put_many, (q, 500)), True)
                self.assertEqual(q.qsize(), 500)
                self.assertEqual([q.get_nowait() for _ in range(500)], list(range(500)))
                with self.assertRaises(queue.Empty):
                    q.get_nowait()
            with corral.Manager() as m:
                d = m.dict()
                rs = [p.apply_async(F.set_many, (d, 300)) for _ in range(2)]
                for r in rs:
                    self.assertEqual(r.get(30), 300)
                    self.assertEqual(d["last"], 300)
                    self.assertEqual(len(d), 301)
                    self.assertEqual(d["k299"], 299)
            r = p.starmap_async(F.put_many, [(q, 500)] * 4, chunksize=1)
            # Each map chunk's writes are flushed before its result too.
            self.assertEqual(r.get(30), [True] * 4)
            self.assertEqual(q.qsize(), 2000)
            self.assertEqual(sorted(q.get_nowait() for _ in range(2000)), sorted(list(range(500)) * 4))

    def _bash_worker(self, body):
        import tempfile
        d = tempfile.mkdtemp()
        script = os.path.join(d, "w.sh")
        with open(script, "w") as f:
            f.write(r'''#!/bin/bash
while IFS= read -r line; do
  id=$(sed -E 's/^[{]"jsonrpc":"2.0","id":([0-9]+).*/\1/' <<<"$line")
  case $line in
    *corral.hello*) printf '{"jsonrpc":"2.0","id":%s,"result":{"protocol":"corral/1","role":"worker","functions":["put","make"]}}\n' "$id" ;;
''' + body + r'''
  esac
done
''')
        return script

    def test_command_worker_puts_into_queue_handle(self):
        # The queue reaches the bash worker as its handle; the worker opens
        # it by name with corral ctl.
        script = self._bash_worker(r'''
    *task.run*)
      name=$(sed -E 's/.*"args":\[[{]"\$corral":"queue","name":"([^"]+)"[}],([0-9]+)\].*/\1/' <<<"$line")
      n=$(sed -E 's/.*"args":\[[{][^}]*[}],([0-9]+)\].*/\1/' <<<"$line")
      "$CORRAL_BIN" ctl queue put "$name" "\"from bash $n\"" >&2
      printf '{"jsonrpc":"2.0","id":%s,"result":"%s"}\n' "$id" "$name" ;;
''')
        q = corral.Queue()
        with Pool(1, command=["bash", script], hello_timeout=5,
                  env={"CORRAL_BIN": corral.find_binary()}) as p:
            self.assertEqual(p.apply("put", (q, 7)), q.name)
            self.assertEqual(q.get(timeout=10), "from bash 7")
            self.assertEqual(p.starmap("put", [(q, 1), (q, 2)]), [q.name, q.name])
            self.assertEqual(sorted([q.get(timeout=10), q.get(timeout=10)]), ["from bash 1", "from bash 2"])

    def test_command_worker_returns_handle(self):
        # A handle in a result becomes the proxy.
        script = self._bash_worker(r'''
    *task.run*)
      name=$(sed -E 's/.*"args":\["([^"]+)"\].*/\1/' <<<"$line")
      "$CORRAL_BIN" ctl object create queue "$name" >&2
      "$CORRAL_BIN" ctl queue put "$name" '[1,"two"]' >&2
      printf '{"jsonrpc":"2.0","id":%s,"result":{"q":{"$corral":"queue","name":"%s"},"n":1}}\n' "$id" "$name" ;;
''')
        with Pool(1, command=["bash", script], hello_timeout=5,
                  env={"CORRAL_BIN": corral.find_binary()}) as p:
            name = "bashq.%d" % os.getpid()
            r = p.apply("make", (name,))
            self.assertEqual(r["n"], 1)
            q = r["q"]
            self.assertIsInstance(q, type(corral.Queue()))
            self.assertEqual(q.name, name)
            self.assertEqual(q.get(timeout=10), [1, "two"])
            q.put("back")
            self.assertEqual(q.get(timeout=10), "back")
            [r2] = p.map("make", [name + ".b"])
            self.assertEqual(r2["q"].get(timeout=10), [1, "two"])

    def test_serve_worker_gets_and_returns_objects(self):
        import tempfile
        d = tempfile.mkdtemp()
        worker = os.path.join(d, "w.py")
        with open(worker, "w") as f:
            f.write("import corral\n"
                    "def put(q, x):\n    q.put(x)\n    return q\n"
                    "corral.serve({'put': put})\n")
        q = corral.Queue()
        with Pool(1, command=[sys.executable, worker], env=_PKG_ENV) as p:
            back = p.apply("put", (q, {"a": 1}))
            self.assertEqual(back.name, q.name)
            self.assertEqual(q.get(timeout=10), {"a": 1})


class ExecutorTest(unittest.TestCase):
    def test_submit_map_as_completed(self):
        with ProcessPoolExecutor(max_workers=2) as ex:
            fs = [ex.submit(F.double, i) for i in range(20)]
            got = sorted(f.result(10) for f in concurrent.futures.as_completed(fs, timeout=30))
            self.assertEqual(got, [i * 2 for i in range(20)])
            done, not_done = concurrent.futures.wait(fs, timeout=10)
            self.assertEqual(len(done), 20)
            self.assertEqual(list(ex.map(F.add, [1, 2], [10, 20])), [11, 22])
            f = ex.submit(F.fail, 3)
            with self.assertRaises(ValueError):
                f.result(10)
            f = ex.submit(F.add, 1, c=5)
            self.assertEqual(f.result(10), 6)
            # A lost worker fails its future only.
            lost = ex.submit(F.kill_self)
            with self.assertRaises(corral.WorkerLost):
                lost.result(30)
            self.assertEqual(ex.submit(F.double, 4).result(10), 8)
        with self.assertRaises(RuntimeError):
            ex.submit(F.double, 1)


class PoolOutputTest(unittest.TestCase):
    def test_worker_print_reaches_stdout(self):
        r = run_script('''
            from corral import Pool
            import shim_funcs as F
            if __name__ == "__main__":
                with Pool(2) as p:
                    print(sorted(p.map(F.print_line, ["a", "b", "c"])))
        ''', env_extra={"PYTHONUNBUFFERED": None})
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(sorted(lines[:-1]), ["a", "b", "c"], r.stdout)
        self.assertEqual(lines[-1], "['a', 'b', 'c']")
        self.assertEqual(r.stderr, "")


if __name__ == "__main__":
    unittest.main()
