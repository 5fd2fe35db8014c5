//go:build !linux

package child

import "syscall"

// Elsewhere there is no Pdeathsig: children are stopped by the supervisor's
// shutdown path, and a supervisor killed with SIGKILL leaves them to notice
// their closed stdin.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
