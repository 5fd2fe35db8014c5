//go:build !linux

package child

import (
	"os"
	"syscall"
)

// Elsewhere there is no Pdeathsig: children are stopped by the supervisor's
// shutdown path, and a supervisor killed with SIGKILL leaves them to notice
// their closed stdin.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

func growPipe(f *os.File, size int) {}
