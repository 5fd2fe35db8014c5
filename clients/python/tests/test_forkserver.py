"""Pool workers forked from the fork server (corral._zygote), against real
processes: what a worker sees, how its end is reported, and that none
outlives the program."""

import sys
import time
import unittest

from shim_support import run_script, alive


@unittest.skipUnless(sys.platform.startswith("linux"), "the fork server is Linux only")
class ForkServerTest(unittest.TestCase):
    def test_workers_are_forked_and_supervised(self):
        r = run_script("""
            import os, signal, time
            import corral

            def info(_):
                with open("/proc/self/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                return os.getpid(), ppid, os.getpgid(0), os.environ.get("CORRAL_WORKER_NAME")

            def die(_):
                os.kill(os.getpid(), signal.SIGKILL)

            if __name__ == "__main__":
                with corral.Pool(4) as p:
                    rows = p.map(info, range(8), chunksize=1)
                    for pid, ppid, pgid, name in sorted(set(rows)):
                        print("worker", pid, ppid, pgid, name)
                    try:
                        p.apply(die, (0,))
                    except corral.WorkerLost as e:
                        print("lost:", e)
                    print("after:", p.apply(info, (0,))[0] > 0)
        """)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [l.split() for l in r.stdout.splitlines() if l.startswith("worker ")]
        self.assertGreaterEqual(len(rows), 1, r.stdout)
        parents = {row[2] for row in rows}
        # One parent for all: the fork server, not the supervisor that
        # runs `corral forked` for each worker.
        self.assertEqual(len(parents), 1, r.stdout)
        for _, pid, ppid, pgid, name in rows:
            # Each worker is in the group of the process the supervisor
            # started for it, not in its own or the fork server's.
            self.assertNotEqual(pgid, pid)
            self.assertNotEqual(pgid, ppid)
            self.assertRegex(name, r"^py-\d+-pool-\d+-\d+$")
        self.assertRegex(r.stdout, r"lost: .*killed by signal 9 \(SIGKILL\)")
        self.assertIn("after: True", r.stdout)

    def test_fresh_interpreters_when_disabled(self):
        r = run_script("""
            import os
            import corral

            def ppid(_):
                with open("/proc/self/stat") as f:
                    return int(f.read().rsplit(")", 1)[1].split()[1])

            if __name__ == "__main__":
                with corral.Pool(2) as p:
                    print(sorted(set(p.map(ppid, range(4), chunksize=1))))
                    import subprocess
                    print(subprocess.run(["pgrep", "-f", "CORRAL_PY_ZYGOTE|forked --socket"],
                                         capture_output=True, text=True).stdout.strip() or "none")
        """, env_extra={"CORRAL_PY_FORKSERVER": "0"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.strip().endswith("none"), r.stdout)

    def test_main_module_runs_once_in_the_server(self):
        # The fork server imports the main script as __mp_main__ once;
        # workers forked from it do not run its top level again.
        r = run_script("""
            import os, sys
            import corral
            print("top level in", "main" if __name__ == "__main__" else __name__, file=sys.stderr)

            def f(x):
                return x * 2

            if __name__ == "__main__":
                with corral.Pool(4) as p:
                    print(p.map(f, range(8), chunksize=1))
        """)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "[0, 2, 4, 6, 8, 10, 12, 14]")
        self.assertEqual(r.stderr.count("top level in __mp_main__"), 1, r.stderr)

    def test_no_worker_outlives_a_killed_program(self):
        r = run_script("""
            import os, sys, time
            import corral

            def pid(_):
                return os.getpid()

            if __name__ == "__main__":
                p = corral.Pool(3)
                print(" ".join(str(x) for x in sorted(set(p.map(pid, range(6), chunksize=1)))), flush=True)
                os.kill(os.getpid(), 9)
        """)
        pids = [int(x) for x in r.stdout.split()]
        self.assertTrue(pids, r.stdout + r.stderr)
        deadline = time.time() + 10
        while any(alive(p) for p in pids) and time.time() < deadline:
            time.sleep(0.05)
        self.assertFalse([p for p in pids if alive(p)], "workers outlived the program")


if __name__ == "__main__":
    unittest.main()
