package shell_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// checkGroupGone fails the test when a process of group pgid other than a
// zombie is still running a few seconds after the group's leader ended:
// whatever a script starts (lock holders, background waits) must end with
// it. It kills what is left.
func checkGroupGone(t *testing.T, pgid int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		left := groupMembers(pgid)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("processes of group %d still running after it ended: %s", pgid, strings.Join(left, "; "))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupMembers lists the live (not zombie) processes of group pgid, as
// "PID COMMAND".
func groupMembers(pgid int) []string {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	var left []string
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		// pid (comm) state ppid pgrp …; comm may hold spaces and parens.
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 3 || fields[0] == "Z" || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		left = append(left, strings.TrimSuffix(filepath.Base(filepath.Dir(f)), "/")+" "+s[strings.IndexByte(s, '(')+1:i])
	}
	return left
}
