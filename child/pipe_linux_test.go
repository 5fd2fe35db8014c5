package child

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

// A link pipe takes a large message in one write, without a reader: its
// buffer was raised past the 64 KiB default.
func TestLinkPipeBuffer(t *testing.T) {
	r, w, err := LinkPipe(256 << 10)
	if err != nil {
		t.Fatal(err)
	}
	defer CloseAll(r, w)
	var size int
	rc, _ := w.SyscallConn()
	rc.Control(func(fd uintptr) { size, err = unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0) })
	if err != nil || size < 256<<10 {
		t.Fatalf("pipe buffer %d (%v), want at least 256 KiB", size, err)
	}
	msg := bytes.Repeat([]byte("x"), 200<<10)
	if err := unix.SetNonblock(int(w.Fd()), true); err != nil {
		t.Fatal(err)
	}
	if n, err := unix.Write(int(w.Fd()), msg); err != nil || n != len(msg) {
		t.Fatalf("one write of 200 KiB took %d bytes (%v), want all", n, err)
	}
}
