"""Process, current_process, active_children and the other module
functions, against real child processes."""

import os
import pickle
import select
import signal
import time
import unittest

import corral
from corral import Process, current_process, active_children

import shim_funcs as F
from shim_support import run_script, alive


class Sleeper(Process):
    def __init__(self, t):
        super().__init__()
        self.t = t

    def run(self):
        time.sleep(self.t)


class ProcessTest(unittest.TestCase):
    def test_start_join_exitcode(self):
        p = Process(target=F.exit_with, args=(3,))
        self.assertIsNone(p.pid)
        self.assertIsNone(p.exitcode)
        self.assertFalse(p.is_alive())
        p.start()
        self.assertIsInstance(p.pid, int)
        self.assertNotEqual(p.pid, os.getpid())
        self.assertEqual(p.ident, p.pid)
        p.join(30)
        self.assertEqual(p.exitcode, 3)
        self.assertFalse(p.is_alive())
        self.assertIn("stopped exitcode=3", repr(p))
        q = Process(target=F.double, args=(1,))
        q.start()
        q.join()
        self.assertEqual(q.exitcode, 0)

    def test_exception_exitcode_1(self):
        p = Process(target=F.fail, args=(1,))
        p.start()
        p.join(30)
        self.assertEqual(p.exitcode, 1)

    def test_names(self):
        p = Process(target=F.double, args=(1,), name="worker-x")
        self.assertEqual(p.name, "worker-x")
        q = Process(target=F.double, args=(1,))
        self.assertRegex(q.name, r"^Process-\d+$")
        self.assertEqual(Sleeper(0).name.split("-")[0], "Sleeper")
        self.assertEqual(current_process().name, "MainProcess")
        self.assertIsNone(corral.parent_process())

    def test_join_timeout_terminate_kill(self):
        p = Sleeper(30)
        p.start()
        t = time.monotonic()
        p.join(0.2)
        self.assertLess(time.monotonic() - t, 5)
        self.assertTrue(p.is_alive())
        self.assertIsNone(p.exitcode)
        self.assertIn(p, active_children())
        self.assertTrue(alive(p.pid))
        p.terminate()
        p.join(10)
        self.assertEqual(p.exitcode, -signal.SIGTERM)
        self.assertNotIn(p, active_children())
        k = Sleeper(30)
        k.start()
        k.kill()
        k.join(10)
        self.assertEqual(k.exitcode, -signal.SIGKILL)

    def test_sentinel(self):
        p = Sleeper(0.3)
        p.start()
        s = p.sentinel
        r, _, _ = select.select([s], [], [], 0)
        self.assertEqual(r, [])
        r, _, _ = select.select([s], [], [], 30)
        self.assertEqual(r, [s])
        p.join()
        self.assertEqual(p.exitcode, 0)

    def test_close(self):
        p = Sleeper(30)
        p.start()
        with self.assertRaises(ValueError):
            p.close()
        p.kill()
        p.join()
        p.close()
        with self.assertRaises(ValueError):
            p.is_alive()

    def test_start_twice_and_daemon(self):
        p = Process(target=F.double, args=(1,), daemon=True)
        self.assertTrue(p.daemon)
        p.start()
        with self.assertRaises(AssertionError):
            p.start()
        with self.assertRaises(AssertionError):
            p.daemon = False
        p.join()

    def test_lambda_target_fails_at_start(self):
        p = Process(target=lambda: None)
        with self.assertRaises((pickle.PicklingError, AttributeError)):
            p.start()

    def test_module_functions(self):
        self.assertEqual(corral.cpu_count(), os.cpu_count())
        self.assertEqual(corral.get_start_method(), "spawn")
        self.assertIs(corral.get_context("spawn"), corral)
        corral.freeze_support()
        self.assertIs(corral.get_context().Process, Process)


class ProcessProgramTest(unittest.TestCase):
    """Whole programs: what they print, and how they end."""

    def test_child_prints_and_pids(self):
        r = run_script('''
            import os, threading
            from corral import Process, current_process, parent_process

            def child(q):
                me = current_process()
                print("child", me.name, me.pid == os.getpid(), parent_process().pid == q,
                      threading.current_thread() is threading.main_thread(), __name__)

            def grandchild_parent():
                p = Process(target=child, args=(os.getpid(),))
                p.start()
                p.join()
                print("nested", p.name, p.exitcode)

            if __name__ == "__main__":
                p = Process(target=child, args=(os.getpid(),))
                p.start()
                p.join()
                g = Process(target=grandchild_parent)
                g.start()
                g.join()
                print("done", p.exitcode, g.exitcode)
        ''', env_extra={"PYTHONUNBUFFERED": None})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "child Process-1 True True True __mp_main__",
            "child Process-2:1 True True True __mp_main__",
            "nested Process-2:1 0",
            "done 0 0"])
        self.assertEqual(r.stderr, "")

    def test_nondaemon_joined_at_exit_daemon_terminated(self):
        r = run_script('''
            import time
            from corral import Process

            def slow(msg):
                time.sleep(0.5)
                print(msg, flush=True)

            if __name__ == "__main__":
                Process(target=slow, args=("non-daemon finished",)).start()
                d = Process(target=slow, args=("daemon must not print",), daemon=True)
                d.start()
                print("main done", flush=True)
        ''')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["main done", "non-daemon finished"])

    def test_exception_in_child_is_reported(self):
        r = run_script('''
            from corral import Process
            def boom():
                raise RuntimeError("kaboom")
            if __name__ == "__main__":
                p = Process(target=boom)
                p.start()
                p.join()
                print("exitcode", p.exitcode)
        ''')
        self.assertEqual(r.stdout, "exitcode 1\n")
        self.assertIn("Process Process-1:\nTraceback (most recent call last):", r.stderr)
        self.assertIn("RuntimeError: kaboom", r.stderr)

    def test_signal_handler_in_child_main_thread(self):
        r = run_script('''
            import os, signal, time
            from corral import Process

            def child():
                got = []
                signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
                os.kill(os.getpid(), signal.SIGUSR1)
                time.sleep(0.05)
                print("handled", got)

            if __name__ == "__main__":
                p = Process(target=child)
                p.start()
                p.join()
        ''')
        self.assertEqual(r.stdout, "handled [1]\n", r.stderr)

    def test_unbuffered_env_not_needed(self):
        # Without PYTHONUNBUFFERED a child's lines still reach the output,
        # whole and before join returns.
        r = run_script('''
            import sys
            from corral import Process
            def child(i):
                for j in range(3):
                    print("child", i, "line", j)
            if __name__ == "__main__":
                ps = [Process(target=child, args=(i,)) for i in range(3)]
                for p in ps: p.start()
                for p in ps: p.join()
                print("parent after join")
        ''', env_extra={"PYTHONUNBUFFERED": None})
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(sorted(lines[:-1]), sorted("child %d line %d" % (i, j) for i in range(3) for j in range(3)))
        self.assertEqual(lines[-1], "parent after join")


if __name__ == "__main__":
    unittest.main()
