package supervisor

import (
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/protocol"
)

func TestProcessLifecycle(t *testing.T) {
	s, logs := newSupervisor(t, nil)
	c := dial(t, s)
	var a, b protocol.ProcessInfo
	c.mustCall(protocol.MethodProcessStart, protocol.ProcessSpec{Command: "sh", Args: []string{"-c", "echo hello from $CORRAL_WORKER_NAME; echo oops >&2; exit 3"}}, &a)
	c.mustCall(protocol.MethodProcessStart, protocol.ProcessSpec{Command: "sleep", Args: []string{"30"}}, &b)
	if a.Name != "Process-1" || b.Name != "Process-2" || a.Pid == 0 || !b.Alive {
		t.Fatalf("started %+v and %+v", a, b)
	}
	var joined protocol.ProcessInfo
	c.mustCall(protocol.MethodProcessJoin, protocol.ProcessJoinParams{Name: "Process-1"}, &joined)
	if joined.Alive || joined.ExitCode == nil || *joined.ExitCode != 3 {
		t.Fatalf("joined %+v", joined)
	}
	waitLog(t, logs, "hello from Process-1", `"process":"Process-1"`)
	waitLog(t, logs, "oops", "process stderr")

	// join with a timeout returns with the process still alive.
	timeout := protocol.Seconds(0.05)
	start := time.Now()
	c.mustCall(protocol.MethodProcessJoin, protocol.ProcessJoinParams{Name: "Process-2", Timeout: &timeout}, &joined)
	if !joined.Alive || joined.ExitCode != nil || time.Since(start) > time.Second {
		t.Fatalf("join with timeout: %+v after %v", joined, time.Since(start))
	}
	c.mustCall(protocol.MethodProcessTerminate, protocol.ProcessRef{Name: "Process-2"}, nil)
	c.mustCall(protocol.MethodProcessJoin, protocol.ProcessJoinParams{Name: "Process-2"}, &joined)
	if joined.ExitCode == nil || *joined.ExitCode != -15 {
		t.Fatalf("terminated: %+v", joined)
	}
	var k protocol.ProcessInfo
	c.mustCall(protocol.MethodProcessStart, protocol.ProcessSpec{Name: "victim", Command: "sleep", Args: []string{"30"}}, &k)
	if _, err := c.call(protocol.MethodProcessStart, protocol.ProcessSpec{Name: "victim", Command: "true"}); err == nil || err.Code != protocol.CodeConflict {
		t.Fatalf("second process with a running one's name: %v", err)
	}
	c.mustCall(protocol.MethodProcessKill, protocol.ProcessRef{Name: "victim"}, nil)
	c.mustCall(protocol.MethodProcessJoin, protocol.ProcessJoinParams{Name: "victim"}, &joined)
	if joined.ExitCode == nil || *joined.ExitCode != -9 {
		t.Fatalf("killed: %+v", joined)
	}
	var list struct{ Processes []protocol.ProcessInfo }
	c.mustCall(protocol.MethodProcessList, map[string]any{}, &list)
	if len(list.Processes) != 3 {
		t.Fatalf("list: %+v", list)
	}
	if _, err := c.call(protocol.MethodProcessStart, protocol.ProcessSpec{Command: "corral-no-such-cmd"}); err == nil || err.Code != protocol.CodeSpawnFailed || !strings.Contains(err.Message, "corral-no-such-cmd") {
		t.Fatalf("missing command: %v", err)
	}
	if _, err := c.call(protocol.MethodProcessStatus, protocol.ProcessRef{Name: "nobody"}); err == nil || err.Code != protocol.CodeNotFound {
		t.Fatalf("unknown process: %v", err)
	}
}

// Close stops what runs: workers and processes are gone when it returns.
func TestCloseLeavesNoChildren(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 2, ""))
	var pids []int
	for i := 0; i < 4; i++ {
		r, err := c.apply("p", "pid")
		if err != nil {
			t.Fatal(err)
		}
		var pid int
		if _, err := fmtSscan(string(r), &pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	var p protocol.ProcessInfo
	c.mustCall(protocol.MethodProcessStart, protocol.ProcessSpec{Command: "sleep", Args: []string{"30"}}, &p)
	pids = append(pids, p.Pid)
	s.Close()
	for _, pid := range pids {
		if pidAlive(pid) {
			t.Errorf("pid %d alive after Close", pid)
		}
	}
}
