"""Pipe() against a real supervisor and real child processes."""

import array
import time
import unittest
from multiprocessing import BufferTooShort

from corral._pipe import Pipe

from test_objects_support import run, spawn

SENTINEL = b""


def child_echo(conn):
    for msg in iter(conn.recv_bytes, SENTINEL):
        conn.send_bytes(msg)
    conn.close()


def child_send(conn, items):
    for x in items:
        conn.send(x)


def child_send_and_leave(conn):
    conn.send("bye")
    # exits without close(): its copy of the end closes with it


def child_recv_all(conn, out):
    got = []
    try:
        while True:
            got.append(conn.recv())
    except EOFError:
        out.send(got)


class PipeTest(unittest.TestCase):

    def test_send_recv_in_one_process(self):
        a, b = Pipe()
        for obj in [1, 2.25, None, "s", [1, 2], {"k": (1, 2)}, b"raw", {1, 2}]:
            a.send(obj)
            self.assertEqual(b.recv(), obj)
        b.send("back")
        self.assertEqual(a.recv(), "back")

    def test_echo_process(self):
        conn, child_conn = Pipe()
        p = spawn(child_echo, child_conn)
        seq = [1, 2.25, None]
        self.assertIsNone(conn.send(seq))
        self.assertEqual(conn.recv(), seq)
        msg = b"hello world"
        conn.send_bytes(msg)
        self.assertEqual(conn.recv_bytes(), msg)
        arr = array.array("i", range(4))
        buf = array.array("i", [0] * 10)
        conn.send_bytes(arr)
        self.assertEqual(conn.recv_bytes_into(buf), 16)
        self.assertEqual(list(buf), [0, 1, 2, 3] + [0] * 6)
        buf = array.array("i", [0] * 10)
        conn.send_bytes(arr)
        self.assertEqual(conn.recv_bytes_into(buf, 3 * buf.itemsize), 16)
        self.assertEqual(list(buf), [0] * 3 + [0, 1, 2, 3] + [0] * 3)
        buf = bytearray(b" " * 40)
        conn.send_bytes(msg * 10)
        with self.assertRaises(BufferTooShort) as cm:
            conn.recv_bytes_into(buf)
        self.assertEqual(cm.exception.args, (msg * 10,))
        big = b"X" * (4 * 1024 * 1024)
        conn.send_bytes(big)
        self.assertEqual(conn.recv_bytes(), big)
        conn.send_bytes(SENTINEL)
        self.assertEqual(p.wait(30), 0)
        # The child closed its copy; ours keeps the end open until closed.
        self.assertFalse(conn.poll(0.1))
        child_conn.close()
        self.assertRaises(EOFError, conn.recv)
        self.assertRaises(EOFError, conn.recv_bytes)

    def test_poll(self):
        a, b = Pipe()
        t = time.monotonic()
        self.assertFalse(b.poll())
        self.assertFalse(b.poll(-1))
        self.assertLess(time.monotonic() - t, 0.5)
        t = time.monotonic()
        self.assertFalse(b.poll(0.1))
        self.assertGreaterEqual(time.monotonic() - t, 0.09)
        a.send(None)
        self.assertTrue(b.poll(0.1))
        self.assertTrue(b.poll(None))
        self.assertIsNone(b.recv())

    def test_duplex_false(self):
        reader, writer = Pipe(duplex=False)
        writer.send(1)
        self.assertEqual(reader.recv(), 1)
        self.assertTrue(reader.readable)
        self.assertFalse(reader.writable)
        self.assertFalse(writer.readable)
        self.assertTrue(writer.writable)
        self.assertRaises(OSError, reader.send, 2)
        self.assertRaises(OSError, writer.recv)
        self.assertRaises(OSError, writer.poll)

    def test_close_in_parent_right_after_spawn(self):
        # The parent's close() of the child's end closes only the parent's
        # copy; the child keeps using its own.
        conn, child_conn = Pipe()
        p = spawn(child_echo, child_conn)
        child_conn.close()
        conn.send_bytes(b"hello")
        self.assertEqual(conn.recv_bytes(), b"hello")
        conn.send_bytes(SENTINEL)
        self.assertEqual(p.wait(30), 0)
        self.assertRaises(EOFError, conn.recv)
        conn.close()

    def test_eof_when_the_last_copy_exits(self):
        conn, child_conn = Pipe()
        p = spawn(child_send_and_leave, child_conn)
        child_conn.close()
        self.assertEqual(conn.recv(), "bye")
        self.assertEqual(p.wait(30), 0)
        t = time.monotonic()
        self.assertRaises(EOFError, conn.recv)
        self.assertLess(time.monotonic() - t, 5)

    def test_child_reads_until_eof(self):
        a, b = Pipe()
        out_r, out_w = Pipe(duplex=False)
        p = spawn(child_recv_all, b, out_w)
        b.close()
        out_w.close()
        for i in range(5):
            a.send(i)
        a.close()
        self.assertEqual(out_r.recv(), [0, 1, 2, 3, 4])
        self.assertEqual(p.wait(30), 0)

    def test_sendbytes_bounds(self):
        msg = b"abcdefghijklmnopqrstuvwxyz"
        a, b = Pipe()
        a.send_bytes(msg)
        self.assertEqual(b.recv_bytes(), msg)
        a.send_bytes(msg, 5)
        self.assertEqual(b.recv_bytes(), msg[5:])
        a.send_bytes(msg, 7, 8)
        self.assertEqual(b.recv_bytes(), msg[7:15])
        a.send_bytes(msg, 26)
        self.assertEqual(b.recv_bytes(), b"")
        for args in [(27,), (22, 5), (26, 1), (-1,), (4, -1)]:
            self.assertRaises(ValueError, a.send_bytes, msg, *args)

    def test_context_and_closed(self):
        a, b = Pipe()
        with a, b:
            a.send(1729)
            self.assertEqual(b.recv(), 1729)
            self.assertFalse(a.closed)
        self.assertTrue(a.closed)
        self.assertTrue(b.closed)
        self.assertRaises(OSError, a.recv)
        self.assertRaises(OSError, b.send, 1)

    def test_fileno_is_refused_clearly(self):
        a, b = Pipe()
        with self.assertRaisesRegex(OSError, "no file descriptor"):
            a.fileno()

    def test_values_from_child(self):
        r, w = Pipe(duplex=False)
        self.assertEqual(run(child_send, w, [("t", 1), {"d": [1]}]), 0)
        self.assertEqual(r.recv(), ("t", 1))
        self.assertEqual(r.recv(), {"d": [1]})


if __name__ == "__main__":
    unittest.main()
