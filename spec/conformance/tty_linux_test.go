package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY returns a pseudo-terminal pair, so that a worker can be run as if
// by hand in a terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	var unlock int32
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		m.Close()
		t.Skipf("unlockpt: %v", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		m.Close()
		t.Skipf("ptsname: %v", e)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// A worker run by hand says what it is and exits 2, instead of waiting for
// protocol messages that a person will never type.
func TestExamplesRunByHand(t *testing.T) {
	for name, cmd := range workers(t) {
		t.Run(name, func(t *testing.T) {
			_, tty := openPTY(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c := exec.CommandContext(ctx, cmd.Path, cmd.Args...)
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "CORRAL_") {
					c.Env = append(c.Env, kv)
				}
			}
			var stderr bytes.Buffer
			c.Stdin, c.Stderr = tty, &stderr
			err := c.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2 (stderr: %q)", err, stderr.String())
			}
			msg := stderr.String()
			if !strings.Contains(msg, "corral worker") || !strings.Contains(msg, "corral check-worker --") || strings.Count(msg, "\n") != 1 {
				t.Errorf("stderr %q: want one sentence naming corral check-worker", msg)
			}
		})
	}
}
