"""A wait interrupted by Ctrl-C (KeyboardInterrupt) leaves no trace: the
supervisor cannot take back a parked request, so what it takes once the
program has given up on it (a lock, an item) is given back."""

import os
import signal
import threading
import time
import unittest

from corral._objects import Condition, Event, Lock, Queue, RLock

from test_objects_support import spawn


def interrupt_after(delay):
    """SIGINT to this process after delay seconds (KeyboardInterrupt in the
    main thread)."""
    pid = os.getpid()
    t = threading.Timer(delay, os.kill, (pid, signal.SIGINT))
    t.start()
    return t


def child_hold_until(lock, held, release):
    lock.acquire()
    held.set()
    release.wait(30)
    lock.release()


def child_put_later(q, delay, item):
    time.sleep(delay)
    q.put(item)


def child_notify_later(cond, delay):
    time.sleep(delay)
    with cond:
        cond.notify()


@unittest.skipUnless(threading.current_thread() is threading.main_thread(), "needs the main thread")
class InterruptTest(unittest.TestCase):

    def test_interrupted_acquire_does_not_keep_the_lock(self):
        for make in (Lock, RLock):
            lock = make()
            held, release = Event(), Event()
            p = spawn(child_hold_until, lock, held, release)
            self.assertTrue(held.wait(30))
            interrupt_after(0.2)
            with self.assertRaises(KeyboardInterrupt):
                lock.acquire()
            release.set()
            self.assertEqual(p.wait(30), 0)
            # The given-up acquire got the lock when the child let go, and
            # gave it back: one acquire and one release hold it once.
            self.assertTrue(lock.acquire(timeout=10))
            lock.release()
            self.assertFalse(lock.locked())

    def test_interrupted_get_loses_no_item(self):
        q = Queue()
        p = spawn(child_put_later, q, 0.5, "item")
        interrupt_after(0.2)
        with self.assertRaises(KeyboardInterrupt):
            q.get()
        self.assertEqual(p.wait(30), 0)
        self.assertEqual(q.get(timeout=10), "item")

    def test_interrupted_condition_wait_holds_the_lock_again(self):
        cond = Condition()
        with cond:
            interrupt_after(0.2)
            with self.assertRaises(KeyboardInterrupt):
                cond.wait(30)
            # As threading.Condition: the lock is held again, so notify
            # works and the with block's release finds it held.
            cond.notify()
        p = spawn(child_notify_later, cond, 0.3)
        with cond:
            self.assertTrue(cond.wait(30))
        self.assertEqual(p.wait(30), 0)


if __name__ == "__main__":
    unittest.main()
