package corral

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/corralhq/corral/protocol"
)

// getenver reads environment variables; environ is the real environment.
type getenver interface {
	Getenv(key string) string
}

type environ struct{}

func (environ) Getenv(key string) string { return os.Getenv(key) }

// streams are the files a worker speaks the protocol on.
type streams struct {
	r, w *os.File
}

func (s *streams) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// openStreams picks where the protocol runs: fds 3 and 4 when the
// supervisor says so, stdin and stdout otherwise. The files it returns can
// be closed to interrupt a blocked read or write, so Serve can stop when
// its context ends.
func openStreams(name string, env getenver) (*streams, error) {
	switch fds := env.Getenv(protocol.EnvProtocolFDs); fds {
	case "":
	case "3,4":
		r, err := pollable(3, "corral-protocol-in")
		if err != nil {
			return nil, fmt.Errorf("worker %s: %s=3,4 but fd 3 is not usable: %w", name, protocol.EnvProtocolFDs, err)
		}
		w, err := pollable(4, "corral-protocol-out")
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("worker %s: %s=3,4 but fd 4 is not usable: %w", name, protocol.EnvProtocolFDs, err)
		}
		return &streams{r: r, w: w}, nil
	default:
		return nil, fmt.Errorf("worker %s: %s=%q is not supported: this worker speaks the protocol on stdio or on fds \"3,4\"", name, protocol.EnvProtocolFDs, fds)
	}
	if runByHand(env, isTerminal(os.Stdin)) {
		return nil, errors.New(byHandMessage(name, os.Args[0]))
	}
	s, err := stdioStreams()
	if err != nil {
		return nil, fmt.Errorf("worker %s: %w", name, err)
	}
	return s, nil
}

// stdioStreams takes stdin and stdout for the protocol. The protocol moves
// to private duplicates; fd 0 is pointed at /dev/null and fd 1 at stderr,
// so that whatever a handler prints reaches the supervisor's log instead
// of corrupting the protocol, and nothing else reads the supervisor's
// requests.
func stdioStreams() (*streams, error) {
	in, err := syscall.Dup(0)
	if err != nil {
		return nil, fmt.Errorf("stdin: %w", err)
	}
	out, err := syscall.Dup(1)
	if err != nil {
		syscall.Close(in)
		return nil, fmt.Errorf("stdout: %w", err)
	}
	null, err := os.Open(os.DevNull)
	if err == nil {
		err = dup2(int(null.Fd()), 0)
		null.Close()
	}
	if err == nil {
		err = dup2(2, 1)
	}
	var r, w *os.File
	if err == nil {
		r, err = pollable(in, "corral-protocol-in")
	}
	if err == nil {
		w, err = pollable(out, "corral-protocol-out")
	}
	if err != nil {
		syscall.Close(in)
		syscall.Close(out)
		return nil, fmt.Errorf("take stdio for the protocol: %w", err)
	}
	return &streams{r: r, w: w}, nil
}

// runByHand reports whether the worker looks started by a person rather
// than by corral: no worker id in its environment and a terminal on stdin.
func runByHand(env getenver, stdinIsTerminal bool) bool {
	return stdinIsTerminal && env.Getenv(protocol.EnvWorkerID) == ""
}

// byHandMessage is what a worker run by hand says instead of waiting for a
// supervisor that is not there.
func byHandMessage(name, argv0 string) string {
	return fmt.Sprintf("%s is a corral worker: it talks to the corral supervisor over stdin and stdout "+
		"and is not meant to be run by hand; run it in a pool instead "+
		"(command = %q in a [pool.NAME] table of your corral.toml, then `corral serve --config corral.toml`), "+
		"or check it with `corral check-worker -- %s`", name, argv0, argv0)
}

// isTerminal reports whether f is a terminal: a character device other
// than /dev/null.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}

// pollable returns a file for fd that Close interrupts: pipes and sockets
// are put in non-blocking mode so the runtime poller serves them. The fd
// is not inherited by programs the worker runs.
func pollable(fd int, name string) (*os.File, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, err
	}
	syscall.CloseOnExec(fd)
	switch uint32(st.Mode) & syscall.S_IFMT {
	case syscall.S_IFIFO, syscall.S_IFSOCK:
		if err := syscall.SetNonblock(fd, true); err != nil {
			return nil, err
		}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// workerName is the default name of a worker: the program's base name.
func workerName() string { return filepath.Base(os.Args[0]) }
