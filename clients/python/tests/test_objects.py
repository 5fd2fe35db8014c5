"""Queues, locks, semaphores, conditions, events and barriers against a real
supervisor, shared with real child processes and threads."""

import os
import pickle
import queue
import threading
import time
import unittest

from corral._objects import (
    Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, JoinableQueue, Lock, Queue,
    RLock, Semaphore, SimpleQueue, from_handle, handle_of,
)
from corral._ctypes import Value

from test_objects_support import run, spawn


# -- functions run in child processes -------------------------------------

def child_put(q, items):
    for x in items:
        q.put(x)


def child_get_into(q, out, n):
    for _ in range(n):
        out.put(q.get(timeout=30))


def child_consume_joinable(q):
    for item in iter(q.get, None):
        time.sleep(0.01)
        q.task_done()
    q.task_done()


def child_hold_lock(lock, held, release):
    lock.acquire()
    held.set()
    release.wait(30)
    lock.release()


def child_hold_lock_and_exit(lock, held):
    lock.acquire()
    held.set()
    time.sleep(0.2)
    os._exit(0)  # exits holding it


def child_count(lock, counter, n):
    for _ in range(n):
        with lock:
            counter.value = counter.value + 1


def child_sem(sem, out):
    out.put(sem.acquire(timeout=30))


def child_cond_wait(cond, sleeping, woken, timeout):
    with cond:
        sleeping.release()
        r = cond.wait(timeout)
        woken.put(r)


def child_waitfor(cond, state):
    with cond:
        state.value = 0
        cond.notify()
        ok = cond.wait_for(lambda: state.value == 4, timeout=30)
    return 0 if ok and state.value == 4 else 1


def child_event(ev, delay):
    time.sleep(delay)
    ev.set()


def child_barrier(b, out):
    out.put(b.wait())


def child_barrier_broken(b, out):
    try:
        b.wait()
        out.put("passed")
    except BrokenBarrierError:
        out.put("broken")


def child_action_check(b, v):
    b.wait()
    return 0 if v.value == 1 else 3


def child_bump(v):
    with v.get_lock():
        v.value += 1


class QueueTest(unittest.TestCase):

    def test_put_get_order_and_types(self):
        q = Queue()
        items = [1, 2.5, "s", None, True, [1, [2]], {"a": 1}, (1, "t"), b"bytes", {1: "int key"}, {3}]
        for x in items:
            q.put(x)
        self.assertEqual(q.qsize(), len(items))
        got = [q.get() for _ in items]
        self.assertEqual(got, items)
        self.assertEqual([type(x) for x in got], [type(x) for x in items])
        self.assertTrue(q.empty())

    def test_empty_and_full_timeouts(self):
        q = Queue(maxsize=2)
        q.put(1)
        q.put(2, True)
        self.assertTrue(q.full())
        t = time.monotonic()
        self.assertRaises(queue.Full, q.put, 3, False)
        self.assertRaises(queue.Full, q.put_nowait, 3)
        self.assertRaises(queue.Full, q.put, 3, False, 5)
        self.assertLess(time.monotonic() - t, 1.0)
        t = time.monotonic()
        self.assertRaises(queue.Full, q.put, 3, True, 0.2)
        self.assertGreaterEqual(time.monotonic() - t, 0.19)
        self.assertEqual(q.get(), 1)
        self.assertEqual(q.get_nowait(), 2)
        self.assertRaises(queue.Empty, q.get, False)
        self.assertRaises(queue.Empty, q.get_nowait)
        t = time.monotonic()
        self.assertRaises(queue.Empty, q.get, True, 0.2)
        self.assertGreaterEqual(time.monotonic() - t, 0.19)
        t = time.monotonic()
        self.assertRaises(queue.Empty, q.get, timeout=-1)
        self.assertLess(time.monotonic() - t, 1.0)

    def test_between_processes(self):
        q = Queue()
        out = Queue()
        p = spawn(child_get_into, q, out, 3)
        q.put("a")
        q.put(("b", 2))
        q.put({"c": [3]})
        self.assertEqual([out.get(timeout=30) for _ in range(3)], ["a", ("b", 2), {"c": [3]}])
        self.assertEqual(p.wait(30), 0)
        self.assertEqual(run(child_put, q, list(range(5))), 0)
        self.assertEqual([q.get(timeout=5) for _ in range(5)], list(range(5)))

    def test_blocked_get_is_answered_by_another_process(self):
        q = Queue()
        out = Queue()
        p = spawn(child_get_into, q, out, 1)
        time.sleep(0.3)
        q.put(42)
        self.assertEqual(out.get(timeout=30), 42)
        self.assertEqual(p.wait(30), 0)

    def test_bounded_put_waits_for_room(self):
        q = Queue(1)
        q.put(0)
        done = []

        def putter():
            q.put(1)
            done.append(True)
        t = threading.Thread(target=putter)
        t.start()
        time.sleep(0.2)
        self.assertEqual(done, [])
        self.assertEqual(q.get(), 0)
        t.join(10)
        self.assertEqual(done, [True])
        self.assertEqual(q.get(), 1)

    def test_close_is_per_process(self):
        q = Queue()
        q.put(1)
        q2 = pickle.loads(pickle.dumps(q))
        q.close()
        q.join_thread()
        q.cancel_join_thread()
        with self.assertRaisesRegex(ValueError, "is closed"):
            q.put(2)
        with self.assertRaisesRegex(ValueError, "is closed"):
            q.get()
        self.assertEqual(q2.get(), 1)

    def test_joinable(self):
        q = JoinableQueue()
        procs = [spawn(child_consume_joinable, q) for _ in range(2)]
        for i in range(10):
            q.put(i)
        q.join()
        self.assertEqual(q.qsize(), 0)
        for _ in procs:
            q.put(None)
        for p in procs:
            self.assertEqual(p.wait(30), 0)
        q.join()
        self.assertRaises(ValueError, q.task_done)

    def test_simple_queue(self):
        q = SimpleQueue()
        self.assertTrue(q.empty())
        self.assertEqual(run(child_put, q, ["x", ("y",)]), 0)
        self.assertFalse(q.empty())
        self.assertEqual(q.get(), "x")
        self.assertEqual(q.get(), ("y",))
        q.close()
        self.assertRaises(ValueError, q.get)

    def test_handle(self):
        q = JoinableQueue()
        h = q.__corral_handle__()
        self.assertEqual(h, {"$corral": "joinablequeue", "name": q.name})
        self.assertEqual(q.to_json(), h)
        self.assertEqual(handle_of(q), h)
        q2 = from_handle(h)
        self.assertIsInstance(q2, JoinableQueue)
        q2.put(5)
        self.assertEqual(q.get(), 5)
        self.assertIsNone(handle_of(5))

    def test_queue_in_queue(self):
        q = Queue()
        inner = Queue()
        q.put(inner)
        got = q.get()
        self.assertIsInstance(got, Queue)
        got.put("via handle")
        self.assertEqual(inner.get(), "via handle")


class LockTest(unittest.TestCase):

    def test_lock(self):
        lock = Lock()
        self.assertTrue(lock.acquire())
        self.assertFalse(lock.acquire(False))
        self.assertFalse(lock.acquire(timeout=0.05))
        self.assertIsNone(lock.release())
        self.assertRaises(ValueError, lock.release)
        with lock:
            self.assertTrue(lock.locked())
        self.assertFalse(lock.locked())

    def test_rlock(self):
        lock = RLock()
        for _ in range(3):
            self.assertTrue(lock.acquire())
        for _ in range(3):
            self.assertIsNone(lock.release())
        self.assertRaises((AssertionError, RuntimeError), lock.release)

    def test_lock_held_by_another_process(self):
        lock = Lock()
        held, release = Event(), Event()
        p = spawn(child_hold_lock, lock, held, release)
        self.assertTrue(held.wait(30))
        self.assertFalse(lock.acquire(False))
        self.assertFalse(lock.acquire(timeout=0.1))
        release.set()
        self.assertTrue(lock.acquire(timeout=30))
        lock.release()
        self.assertEqual(p.wait(30), 0)

    def test_lock_of_a_dead_process_is_released(self):
        lock = Lock()
        held = Event()
        p = spawn(child_hold_lock_and_exit, lock, held)
        self.assertTrue(held.wait(30))
        self.assertFalse(lock.acquire(False))
        self.assertTrue(lock.acquire(timeout=30))
        lock.release()
        p.wait(30)

    def test_mutual_exclusion_across_processes(self):
        lock = Lock()
        counter = Value("i", 0, lock=False)
        procs = [spawn(child_count, lock, counter, 50) for _ in range(3)]
        child_count(lock, counter, 50)
        for p in procs:
            self.assertEqual(p.wait(60), 0)
        self.assertEqual(counter.value, 200)

    def test_threads_are_owners(self):
        # An RLock held by one thread is not held by another thread of the
        # same process.
        r = RLock()
        r.acquire()
        got = []
        t = threading.Thread(target=lambda: got.append(r.acquire(False)))
        t.start()
        t.join(10)
        self.assertEqual(got, [False])
        r.release()
        t = threading.Thread(target=lambda: (got.append(r.acquire(False)), r.release()))
        t.start()
        t.join(10)
        self.assertEqual(got, [False, True])

    def test_lock_released_by_another_thread(self):
        lock = Lock()
        lock.acquire()
        t = threading.Thread(target=lock.release)
        t.start()
        t.join(10)
        self.assertTrue(lock.acquire(False))
        lock.release()

    def test_pickle(self):
        lock = RLock()
        l2 = pickle.loads(pickle.dumps(lock))
        self.assertIsInstance(l2, RLock)
        self.assertEqual(l2, lock)
        lock.acquire()
        self.assertTrue(l2.locked())
        l2.release()


class SemaphoreTest(unittest.TestCase):

    def test_semaphore(self):
        sem = Semaphore(2)
        self.assertEqual(sem.get_value(), 2)
        self.assertTrue(sem.acquire())
        self.assertTrue(sem.acquire())
        self.assertFalse(sem.acquire(False))
        self.assertFalse(sem.acquire(timeout=0.05))
        sem.release()
        sem.release()
        sem.release()
        self.assertEqual(sem.get_value(), 3)
        with sem:
            self.assertEqual(sem.get_value(), 2)
        self.assertRaises(ValueError, Semaphore, -1)

    def test_bounded(self):
        sem = BoundedSemaphore(1)
        sem.acquire()
        sem.release()
        self.assertRaises(ValueError, sem.release)

    def test_signal_between_processes(self):
        sem = Semaphore(0)
        out = Queue()
        p = spawn(child_sem, sem, out)
        time.sleep(0.2)
        self.assertTrue(out.empty())
        sem.release()
        self.assertEqual(out.get(timeout=30), True)
        self.assertEqual(p.wait(30), 0)


class ConditionTest(unittest.TestCase):

    def test_wait_needs_the_lock(self):
        c = Condition()
        self.assertRaises(RuntimeError, c.wait, 0.01)
        self.assertRaises(RuntimeError, c.notify)
        with c:
            t = time.monotonic()
            self.assertFalse(c.wait(0.1))
            self.assertGreaterEqual(time.monotonic() - t, 0.09)
            self.assertFalse(c.wait(0))

    def test_notify_process_and_thread(self):
        cond = Condition()
        sleeping = Semaphore(0)
        woken = Queue()
        p = spawn(child_cond_wait, cond, sleeping, woken, None)
        t = threading.Thread(target=child_cond_wait, args=(cond, sleeping, woken, None))
        t.start()
        self.assertTrue(sleeping.acquire(timeout=30))
        self.assertTrue(sleeping.acquire(timeout=30))
        time.sleep(0.1)
        self.assertTrue(woken.empty())
        with cond:
            cond.notify()
        self.assertEqual(woken.get(timeout=30), True)
        time.sleep(0.1)
        self.assertTrue(woken.empty())
        with cond:
            cond.notify_all()
        self.assertEqual(woken.get(timeout=30), True)
        t.join(30)
        self.assertEqual(p.wait(30), 0)

    def test_wait_for(self):
        cond = Condition()
        state = Value("i", -1)
        p = spawn(child_waitfor, cond, state)
        with cond:
            self.assertTrue(cond.wait_for(lambda: state.value == 0, timeout=30))
        for _ in range(4):
            time.sleep(0.01)
            with cond:
                state.value += 1
                cond.notify()
        self.assertEqual(p.wait(30), 0)
        with cond:
            t = time.monotonic()
            self.assertFalse(cond.wait_for(lambda: False, timeout=0.1))
            self.assertGreaterEqual(time.monotonic() - t, 0.09)

    def test_over_a_given_lock(self):
        lock = Lock()
        cond = Condition(lock)
        with cond:
            self.assertTrue(lock.locked())
            self.assertFalse(cond.wait(0.01))
        self.assertFalse(lock.locked())
        c2 = pickle.loads(pickle.dumps(cond))
        with c2:
            self.assertTrue(lock.locked())


class EventTest(unittest.TestCase):

    def test_event(self):
        ev = Event()
        self.assertFalse(ev.is_set())
        self.assertFalse(ev.wait(0))
        t = time.monotonic()
        self.assertFalse(ev.wait(0.1))
        self.assertGreaterEqual(time.monotonic() - t, 0.09)
        ev.set()
        self.assertTrue(ev.is_set())
        self.assertTrue(ev.wait())
        self.assertRegex(repr(ev), r"<Event at .* set>")
        ev.clear()
        self.assertRegex(repr(ev), r"<Event at .* unset>")
        p = spawn(child_event, ev, 0.2)
        self.assertTrue(ev.wait(30))
        self.assertEqual(p.wait(30), 0)


class BarrierTest(unittest.TestCase):

    def test_processes(self):
        b = Barrier(3, timeout=30)
        out = Queue()
        procs = [spawn(child_barrier, b, out) for _ in range(2)]
        i = b.wait()
        got = sorted([i, out.get(timeout=30), out.get(timeout=30)])
        self.assertEqual(got, [0, 1, 2])
        for p in procs:
            self.assertEqual(p.wait(30), 0)
        self.assertEqual(b.parties, 3)
        self.assertEqual(b.n_waiting, 0)
        self.assertFalse(b.broken)

    def test_timeout_breaks(self):
        b = Barrier(2)
        t = time.monotonic()
        self.assertRaises(BrokenBarrierError, b.wait, 0.1)
        self.assertGreaterEqual(time.monotonic() - t, 0.09)
        self.assertTrue(b.broken)
        self.assertRaises(BrokenBarrierError, b.wait)
        b.reset()
        self.assertFalse(b.broken)

    def test_abort(self):
        b = Barrier(2)
        out = Queue()
        p = spawn(child_barrier_broken, b, out)
        deadline = time.monotonic() + 30
        while b.n_waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        b.abort()
        self.assertEqual(out.get(timeout=30), "broken")
        self.assertEqual(p.wait(30), 0)

    def test_action_runs_before_anyone_leaves(self):
        v = Value("i", 0)
        b = Barrier(3, action=lambda: None, timeout=30)
        # A picklable action for the children: bump v.
        b = Barrier(3, action=_Bump(v), timeout=30)
        procs = [spawn(child_action_check, b, v) for _ in range(2)]
        b.wait()
        self.assertEqual(v.value, 1)
        for p in procs:
            self.assertEqual(p.wait(30), 0)

    def test_single(self):
        b = Barrier(1)
        self.assertEqual(b.wait(), 0)
        self.assertEqual(b.wait(), 0)
        self.assertRaises(ValueError, Barrier, 0)


class _Bump(object):
    def __init__(self, v):
        self.v = v

    def __call__(self):
        child_bump(self.v)


if __name__ == "__main__":
    unittest.main()
