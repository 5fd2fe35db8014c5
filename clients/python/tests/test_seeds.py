"""Every example of the tutorials the project started from
(/work/shared/seeds, copied under tests/seeds with ``import corral as
multiprocessing`` or ``from corral import …``, Python 2 prints made Python
3 calls, and three typos of 003 fixed), run as a program; its output checked
against the output multiprocessing gives.

The examples sleep for seconds at a time; tests/seeds/_fast/sitecustomize.py
makes every sleep (in the example and in its children) a fifth as long.
"""

import os
import re
import subprocess
import sys
import unittest

from shim_support import env as shim_env

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")


def run_seed(name, timeout=90):
    e = shim_env()
    e["PYTHONPATH"] = os.pathsep.join([os.path.join(SEEDS, "_fast"), e["PYTHONPATH"]])
    e["PYTHONUNBUFFERED"] = "1"  # the order a terminal shows
    return subprocess.run([sys.executable, name + ".py"], cwd=SEEDS, env=e, capture_output=True,
                          text=True, timeout=timeout)


class SeedTest(unittest.TestCase):
    maxDiff = None

    def seed(self, name, stderr_empty=True):
        r = run_seed(name)
        self.assertEqual(r.returncode, 0, "%s failed:\n%s\n%s" % (name, r.stdout, r.stderr))
        if stderr_empty:
            self.assertEqual(r.stderr, "", name)
        return r.stdout.splitlines(), r

    def assertSubsequence(self, lines, want):
        it = iter(lines)
        for w in want:
            for line in it:
                if line == w:
                    break
            else:
                self.fail("%r not found in order in %r" % (w, lines))

    # 000: Python 201, a multiprocessing tutorial

    def test_000a_doubler_pid(self):
        lines, _ = self.seed("s000a_doubler_pid")
        got = sorted(re.sub(r"\d+$", "PID", l) for l in lines)
        self.assertEqual(got, sorted("%d doubled to %d by process id: PID" % (n, 2 * n) for n in [5, 10, 15, 20, 25]))
        pids = {int(l.rsplit(" ", 1)[1]) for l in lines}
        self.assertEqual(len(pids), 5)

    def test_000b_names(self):
        lines, _ = self.seed("s000b_names")
        self.assertEqual(sorted(lines), sorted([
            "5 doubled to 10 by: Process-2", "10 doubled to 20 by: Process-3",
            "15 doubled to 30 by: Process-4", "20 doubled to 40 by: Process-5",
            "25 doubled to 50 by: Process-6", "2 doubled to 4 by: Test"]))

    def test_000c_lock(self):
        lines, _ = self.seed("s000c_lock")
        self.assertEqual(sorted(lines), ["10", "foxtrot", "tango"])

    def test_000d_logging(self):
        lines, r = self.seed("s000d_logging", stderr_empty=False)
        self.assertEqual(sorted(lines), ["10", "foxtrot", "tango"])
        err = r.stderr.splitlines()
        for n in (1, 2, 3):
            self.assertSubsequence(err, ["[INFO/Process-%d] child process calling self.run()" % n,
                                         "[INFO/Process-%d] process shutting down" % n,
                                         "[INFO/Process-%d] process exiting with exitcode 0" % n])
        self.assertIn("[INFO/MainProcess] process shutting down", err)
        for n in (1, 2, 3):
            self.assertIn("[INFO/MainProcess] calling join() for process Process-%d" % n, err)
        self.assertEqual([l for l in err if not l.startswith("[INFO/")], [])

    def test_000e_pool_map(self):
        lines, _ = self.seed("s000e_pool_map")
        self.assertEqual(lines, ["[10, 20, 40]"])

    def test_000f_apply_async(self):
        lines, _ = self.seed("s000f_apply_async")
        self.assertEqual(lines, ["50"])

    def test_000g_queue(self):
        lines, _ = self.seed("s000g_queue")
        self.assertIn("Creating data and putting it on the queue", lines)
        consumer = [l for l in lines if l != "Creating data and putting it on the queue"]
        self.assertEqual(consumer, [
            "data found to be processed: 5", "10", "data found to be processed: 10", "20",
            "data found to be processed: 13", "26", "data found to be processed: -1", "-2"])

    # 001: python多进程简介 (Python 2 code; prints made calls)

    def test_001a_pool_sleep(self):
        lines, _ = self.seed("s001a_pool_sleep")
        self.assertEqual(lines, ["[1, 4, 9]"])

    def test_001b_hello(self):
        lines, _ = self.seed("s001b_hello")
        self.assertEqual(lines, ["hello bob"])

    def test_001c_info(self):
        lines, _ = self.seed("s001c_info")
        self.assertEqual(len(lines), 9, lines)
        self.assertEqual(lines[0:2], ["main line", "module name: __main__"])
        self.assertTrue(lines[2].startswith("parent process: "))
        main_pid = int(lines[3].split(": ")[1])
        # Under spawn the child's main module is __mp_main__, as with
        # multiprocessing's spawn start method.
        self.assertEqual(lines[4:6], ["function f", "module name: __mp_main__"])
        self.assertTrue(lines[6].startswith("parent process: "))
        self.assertNotEqual(int(lines[7].split(": ")[1]), main_pid)
        self.assertEqual(lines[8], "hello bob")

    def test_001d_queue(self):
        lines, _ = self.seed("s001d_queue")
        self.assertEqual(lines, ["[42, None, 'hello']"])

    def test_001e_pipe(self):
        lines, _ = self.seed("s001e_pipe")
        self.assertEqual(lines, ["[42, None, 'hello']"])

    def test_001f_lock(self):
        lines, _ = self.seed("s001f_lock")
        self.assertEqual(sorted(lines), sorted("hello world %d" % i for i in range(10)))

    def test_001g_value_array(self):
        lines, _ = self.seed("s001g_value_array")
        self.assertEqual(lines, ["3.1415927", "[0, -1, -2, -3, -4, -5, -6, -7, -8, -9]"])

    def test_001h_manager(self):
        lines, _ = self.seed("s001h_manager")
        # Python 3 dicts keep insertion order (the tutorial shows Python 2's).
        self.assertEqual(lines, ["{1: '1', '2': 2, 0.25: None}", "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]"])

    def test_001i_pool_tour(self):
        lines, _ = self.seed("s001i_pool_tour")
        self.assertEqual(lines[0], "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]")
        self.assertEqual(sorted(int(x) for x in lines[1:11]), [x * x for x in range(10)])
        self.assertEqual(lines[11], "400")
        self.assertTrue(lines[12].isdigit())
        pids = eval(lines[13])
        self.assertEqual(len(pids), 4)
        self.assertEqual(lines[14], "We lacked patience and got a multiprocessing.TimeoutError")
        self.assertEqual(len(lines), 15)

    # 002: processes, pools, queues, pipes, managers

    def test_002a_fork(self):
        lines, _ = self.seed("s002a_fork")
        self.assertEqual(lines.count("bobby"), 2)
        self.assertEqual(len(lines), 4)

    def test_002b_downloader(self):
        lines, _ = self.seed("s002b_downloader")
        self.assertEqual(lines[0], "None")
        pid = int(lines[1])
        self.assertEqual(lines[2:], ["sub process %d is finished" % pid, "main process is finished"])

    def test_002c_apply_async(self):
        lines, _ = self.seed("s002c_apply_async")
        self.assertEqual(lines, ["download 1 is finished", "download 2 is finished", "download 3 is finished",
                                 "3", "1", "2"])

    def test_002d_imap(self):
        lines, _ = self.seed("s002d_imap")
        # Pool() has as many workers as CPUs.
        self.assertEqual(sorted(lines), sorted(["download 1 is finished", "1", "download 3 is finished",
                                                "download 5 is finished", "5", "3"]))
        self.assertEqual([l for l in lines if l.isdigit()], ["1", "5", "3"])
        self.assertLess(lines.index("download 1 is finished"), lines.index("1"))
        self.assertLess(lines.index("download 5 is finished"), lines.index("5"))

    def test_002e_imap_unordered(self):
        lines, _ = self.seed("s002e_imap_unordered")
        if (os.cpu_count() or 1) >= 2:
            self.assertEqual(lines, ["download 1 is finished", "1", "download 3 is finished", "3",
                                     "download 5 is finished", "5"])
        else:
            self.assertEqual([l for l in lines if l.isdigit()], ["1", "5", "3"])

    def test_002f_queue(self):
        lines, _ = self.seed("s002f_queue")
        self.assertEqual(lines, ["a"])

    def test_002g_pool_queue(self):
        # multiprocessing prints nothing here (a Queue cannot go to a pool's
        # workers); corral's queues travel as handles, so it works.
        lines, _ = self.seed("s002g_pool_queue")
        self.assertEqual(lines, ["a"])

    def test_002h_pool_manager_queue(self):
        lines, _ = self.seed("s002h_pool_manager_queue")
        self.assertEqual(lines, ["a"])

    def test_002i_pipe_create(self):
        lines, _ = self.seed("s002i_pipe_create")
        self.assertEqual(lines, [])

    def test_002j_pipe(self):
        lines, _ = self.seed("s002j_pipe")
        self.assertEqual(lines, ["a"])

    def test_002k_manager_list_lock(self):
        lines, _ = self.seed("s002k_manager_list_lock")
        self.assertEqual(lines, ["0"])

    # 003: python中的多进程的实现

    def test_003a_function(self):
        lines, _ = self.seed("s003a_function")
        # The example joins only its last process (p, not i), so "end" may
        # come before the others' lines, as with multiprocessing.
        self.assertEqual(sorted(lines), sorted(["测试Python多进程"] * 5 + ["end"]))

    def test_003b_subclass(self):
        lines, _ = self.seed("s003b_subclass")
        # The example joins only its last process (p, not i), so "end" may
        # come before the others' lines, as with multiprocessing.
        self.assertEqual(sorted(lines), sorted(["测试Python多进程"] * 5 + ["end"]))

    def test_003c_pool_apply_async(self):
        lines, _ = self.seed("s003c_pool_apply_async")
        got = sorted(re.sub(r"Process \d+ ", "Process PID ", l) for l in lines)
        self.assertEqual(got, ["Process PID is running as id(%d)." % i for i in (111, 222, 333)])

    def test_003d_pool_get(self):
        lines, _ = self.seed("s003d_pool_get")
        self.assertEqual(lines, ["1", "4", "9", "16"])

    def test_003e_pool_map(self):
        lines, _ = self.seed("s003e_pool_map")
        self.assertEqual(lines, ["[1, 4, 9, 16]"])

    # 004: Multiprocessing 基础教程 2

    def test_004a_globals(self):
        lines, _ = self.seed("s004a_globals")
        self.assertEqual(lines, ["Result(in process p1): [1, 4, 9, 16]", "Result(in main program): []"])

    def test_004b_value_array(self):
        lines, _ = self.seed("s004b_value_array")
        self.assertEqual(lines, ["Result(in process p1): [1, 4, 9, 16]", "Sum of squares(in process p1): 30",
                                 "Result(in main program): [1, 4, 9, 16]", "Sum of squares(in main program): 30"])

    def test_004c_manager_records(self):
        lines, _ = self.seed("s004c_manager_records")
        self.assertEqual(lines, ["New record added!", "",
                                 "Name: Sam", "Score: 10", "", "Name: Adam", "Score: 9", "",
                                 "Name: Kevin", "Score: 9", "", "Name: Jeff", "Score: 8", ""])

    def test_004d_queue(self):
        lines, _ = self.seed("s004d_queue")
        self.assertEqual(lines, ["Queue elements:", "1", "4", "9", "16", "Queue is now empty!"])

    def test_004e_pipe(self):
        lines, _ = self.seed("s004e_pipe")
        sent = ["Sent the message: %s" % m for m in ["hello", "hey", "hru?", "END"]]
        received = ["Received the message: %s" % m for m in ["hello", "hey", "hru?"]]
        self.assertEqual(sorted(lines), sorted(sent + received))
        self.assertSubsequence(lines, sent)
        self.assertSubsequence(lines, received)


if __name__ == "__main__":
    unittest.main()
