"""CPython's own multiprocessing tests for pools and processes, run against
corral: the test classes of Lib/test/_test_multiprocessing.py (shipped with
this Python) for Pool, pool worker errors and lifetimes, Process and its
subclasses, mixed with corral's Pool and Process as CPython mixes them
with its own for each start method (see test_cpython_objects.py).

Tests skipped here say why; each is a documented difference
(README.md, "Differences from multiprocessing")."""

import os
import sys
import unittest

try:
    from test import _test_multiprocessing as T
except ImportError:  # a Python built without its test package
    T = None

if T is None:
    raise unittest.SkipTest("this Python has no test._test_multiprocessing")

import corral
from test_cpython_objects import CorralMixin


def skip(why):
    def test(self):
        self.skipTest(why)
    return test


class WithCorralTestPool(T._TestPool, CorralMixin, unittest.TestCase):
    test_make_pool = skip("reads Pool._pool, multiprocessing's list of its own worker objects; "
                          "corral's workers belong to the supervisor (see test_pool.py)")


class WithCorralTestPoolWorkerErrors(T._TestPoolWorkerErrors, CorralMixin, unittest.TestCase):
    pass


class WithCorralTestPoolWorkerLifetime(T._TestPoolWorkerLifetime, CorralMixin, unittest.TestCase):
    pass


class WithCorralTestProcess(T._TestProcess, CorralMixin, unittest.TestCase):
    _stdlib = ("calls the standard library's multiprocessing.process.parent_process() in the child, "
               "which knows nothing of corral's (corral.parent_process() is checked in test_process.py)")
    test_parent_process_attributes = skip(_stdlib)
    test_parent_process = skip(_stdlib)
    test_terminate = skip("calls the standard library's multiprocessing.Process.terminate on corral's "
                          "Process, which reads multiprocessing's own handle of the child "
                          "(kill() and terminate() are checked in test_process.py)")
    test_kill = skip("reads Process._popen, multiprocessing's own handle of the child "
                     "(kill() and terminate() are checked in test_process.py)")


class WithCorralTestSubclassingProcess(T._TestSubclassingProcess, CorralMixin, unittest.TestCase):
    pass


if __name__ == "__main__":
    unittest.main()
