//go:build unix

package jsonrpc

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// nonblocking reports whether the descriptor behind rc is in non-blocking
// mode, where a write that cannot proceed fails with EAGAIN instead of
// waiting.
func nonblocking(rc syscall.RawConn) bool {
	nb := false
	rc.Control(func(fd uintptr) {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nb = err == nil && flags&unix.O_NONBLOCK != 0
	})
	return nb
}
