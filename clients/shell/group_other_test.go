//go:build !linux

package shell_test

import (
	"syscall"
	"testing"
	"time"
)

// checkGroupGone fails the test when group pgid still has processes a few
// seconds after its leader ended, and kills them.
func checkGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for syscall.Kill(-pgid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("processes of group %d still running after it ended", pgid)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
