"""Bad input and bad ends: a missing binary, modules workers cannot import,
Ctrl-C and SIGKILL in the driver. (Unpicklable arguments and workers killed
mid-task are in test_pool.)"""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

from corral import Pool

import shim_funcs as F
from shim_support import env, run_script, alive


class MissingBinaryTest(unittest.TestCase):
    PROG = '''
        from corral import Pool
        import shim_funcs as F
        if __name__ == "__main__":
            try:
                Pool(1)
            except FileNotFoundError as e:
                print("error:", e)
    '''

    def test_corral_bin_points_nowhere(self):
        r = run_script(self.PROG, env_extra={"CORRAL_BIN": "/no/such/corral"}, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("error: corral: CORRAL_BIN=/no/such/corral is not an executable file", r.stdout)
        self.assertIn("make build", r.stdout)

    def test_not_in_path(self):
        r = run_script(self.PROG, env_extra={"CORRAL_BIN": None, "PATH": "/nonexistent"}, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("cannot find the corral binary", r.stdout)
        self.assertIn("CORRAL_BIN", r.stdout)
        self.assertIn("make build", r.stdout)


class UnimportableTest(unittest.TestCase):
    def test_function_module_missing_in_worker(self):
        # The module exists for the driver (its directory joined sys.path
        # after the pool started) but not for the workers: the task fails
        # with an error naming it, and the pool goes on.
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "late_module_xyz.py"), "w") as f:
            f.write("def triple(x):\n    return 3 * x\n")
        with Pool(1) as p:
            sys.path.insert(0, d)
            try:
                import late_module_xyz
                with self.assertRaises(ModuleNotFoundError) as cm:
                    p.apply(late_module_xyz.triple, (2,))
                self.assertIn("late_module_xyz", str(cm.exception))
                with self.assertRaises(ModuleNotFoundError):
                    p.map(late_module_xyz.triple, [1, 2])
            finally:
                sys.path.remove(d)
            self.assertEqual(p.apply(F.double, (2,)), 4)

    def test_main_script_fails_in_worker(self):
        r = run_script('''
            import time
            from corral import Pool
            if __name__ != "__main__":
                raise ImportError("this script cannot be imported by a worker")

            def f(x):
                return x

            if __name__ == "__main__":
                t = time.monotonic()
                with Pool(2) as p:
                    for attempt in range(2):
                        try:
                            p.apply(f, (1,))
                        except ImportError as e:
                            print("error:", e)
                    st = p._conn.call("pool.stats", {"pool": p._name})
                    print("restarts:", st["restarts"])
                print("took less than 20s:", time.monotonic() - t < 20)
        ''', timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 4, r.stdout + r.stderr)
        for line in lines[:2]:
            self.assertIn("error: corral: the worker could not import the main module", line)
            self.assertIn("prog.py", line)
            self.assertIn("this script cannot be imported by a worker", line)
        self.assertEqual(lines[2:], ["restarts: 0", "took less than 20s: True"])


def _wait_gone(test, pids, timeout=15):
    deadline = time.monotonic() + timeout
    for pid in pids:
        while alive(pid):
            if time.monotonic() > deadline:
                test.fail("process %d survived" % pid)
            time.sleep(0.05)


_HOLD = '''
    import os, sys, time
    from corral import Pool, Process, _sidecar
    import shim_funcs as F

    if __name__ == "__main__":
        pool = Pool(2)
        workers = set(pool.map(F.pid, range(8), chunksize=1))
        proc = Process(target=F.sleep_return, args=(60,))
        proc.start()
        print(_sidecar._proc.pid, proc.pid, *workers, flush=True)
        pool.apply(F.sleep_return, (60,))
'''


class DriverEndTest(unittest.TestCase):
    def start(self):
        d = tempfile.mkdtemp()
        path = os.path.join(d, "hold.py")
        with open(path, "w") as f:
            f.write(textwrap.dedent(_HOLD))
        p = subprocess.Popen([sys.executable, path], env=env(), cwd=d, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(p.stderr.close)
        self.addCleanup(p.stdout.close)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        line = p.stdout.readline()
        pids = [int(x) for x in line.split()]
        self.assertGreaterEqual(len(pids), 3, line + p.stderr.read() if not line else line)
        for pid in pids:
            self.assertTrue(alive(pid), pid)
        return p, pids

    def test_ctrl_c(self):
        p, pids = self.start()
        time.sleep(0.2)
        t = time.monotonic()
        p.send_signal(signal.SIGINT)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            self.fail("the driver did not exit on Ctrl-C")
        self.assertLess(time.monotonic() - t, 20)
        err = p.stderr.read()
        self.assertIn("KeyboardInterrupt", err)
        _wait_gone(self, pids)

    def test_kill_9(self):
        p, pids = self.start()
        p.kill()
        p.wait()
        _wait_gone(self, pids)


if __name__ == "__main__":
    unittest.main()
