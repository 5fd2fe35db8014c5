package supervisor

import (
	"strings"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// A worker that runs tasks in order is sent the next task ahead. When it
// is lost mid-task, only the running task fails; the one sent ahead never
// started, so it runs on the replacement, uncharged (no retries allowed).
func TestAheadTaskSurvivesLostWorker(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 1, "inorder"))
	first := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "slowpid", Args: json.RawMessage(`[0.3]`)})
	killer := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "kill", Args: json.RawMessage(`[0.05]`)})
	after := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "pid"})
	// While the first runs, the killer waits at the worker and the last in
	// the queue: both count as queued.
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Busy == 1 && st.Queued == 2 })
	pid1, err := c.wait(first, 10*time.Second)
	if err != nil {
		t.Fatalf("first task: %v", err)
	}
	if _, err := c.wait(killer, 10*time.Second); err == nil || err.Code != protocol.CodeWorkerLost {
		t.Fatalf("the task that killed its worker: %v, want worker_lost", err)
	}
	pid3, err := c.wait(after, 10*time.Second)
	if err != nil {
		t.Fatalf("the task sent ahead of a lost worker: %v, want it run on the replacement", err)
	}
	if string(pid3) == string(pid1) {
		t.Fatalf("the task after the loss ran on the lost worker (pid %s)", pid1)
	}
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Failed == 1 && st.Done == 2 && st.Restarts == 1 })
}

// A task sent ahead of one that times out goes back to the queue and runs
// on the replacement; its own timeout starts when it starts.
func TestAheadTaskSurvivesTimeout(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	spec := testWorkerSpec("p", 1, "inorder")
	spec.TaskTimeout = 0.3
	spec.StopGrace = 0.5
	c.createPool(spec)
	slow := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[30]`)})
	// Sent ahead at once; it must not be charged the 0.3 s the slow one
	// runs before it: 0.2 s of its own is within its timeout.
	next := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.2]`)})
	if _, err := c.wait(slow, 10*time.Second); err == nil || err.Code != protocol.CodeTaskTimeout {
		t.Fatalf("slow task: %v, want task_timeout", err)
	}
	if r, err := c.wait(next, 10*time.Second); err != nil || !strings.Contains(string(r), "0.2") {
		t.Fatalf("task sent ahead of a timed-out one: %s, %v", r, err)
	}
}

// max_tasks_per_worker counts tasks sent ahead: no worker is sent more
// than its share.
func TestAheadRespectsMaxTasksPerWorker(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	spec := testWorkerSpec("p", 1, "inorder")
	spec.MaxTasksPerWorker = 2
	c.createPool(spec)
	var ids []string
	for range 6 {
		ids = append(ids, c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "slowpid", Args: json.RawMessage(`[0.02]`)}))
	}
	pids := map[string]int{}
	for _, id := range ids {
		r, err := c.wait(id, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		pids[string(r)]++
	}
	if len(pids) != 3 {
		t.Fatalf("6 tasks, 2 per worker: pids %v", pids)
	}
	for pid, n := range pids {
		if n != 2 {
			t.Fatalf("worker %s ran %d tasks, want 2", pid, n)
		}
	}
}

// Terminate fails the task sent ahead as it fails the running one.
func TestAheadTaskFailsOnTerminate(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 1, "inorder"))
	running := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[30]`)})
	ahead := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "double", Args: json.RawMessage(`[1]`)})
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Busy == 1 && st.Queued == 1 })
	c.mustCall(protocol.MethodPoolTerminate, protocol.PoolRef{Pool: "p"}, nil)
	for _, id := range []string{running, ahead} {
		if _, err := c.wait(id, 10*time.Second); err == nil || err.Code != protocol.CodeTerminated || !strings.Contains(err.Message, "terminated") {
			t.Fatalf("task %s after terminate: %v", id, err)
		}
	}
}

// Maps run chunk after chunk on in-order workers, and "ahead": 0 turns
// sending ahead off: the pool then behaves as before, one task at a time.
func TestAheadMapAndOff(t *testing.T) {
	for _, ahead := range []int{1, 0} {
		s, _ := newSupervisor(t, nil)
		c := dial(t, s)
		spec := testWorkerSpec("p", 2, "inorder")
		spec.Ahead = &ahead
		c.createPool(spec)
		items := make([]int, 500)
		for i := range items {
			items[i] = i
		}
		raw, _ := json.Marshal(items)
		var res protocol.MapResult
		c.mustCall(protocol.MethodPoolMap, protocol.MapParams{Pool: "p", Fn: "double", Items: raw, Chunksize: 7}, &res)
		var out []int
		if err := json.Unmarshal(res.Results, &out); err != nil || len(out) != len(items) {
			t.Fatalf("ahead=%d: map results %s: %v", ahead, res.Results, err)
		}
		for i, v := range out {
			if v != 2*i {
				t.Fatalf("ahead=%d: result %d = %d", ahead, i, v)
			}
		}
		a := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.3]`)})
		b := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.3]`)})
		d := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.3]`)})
		want := 0 // off: the third waits in the pool's queue
		if ahead == 1 {
			want = 1
		}
		c.eventually("p", func(st protocol.PoolStats) bool { return st.Busy == 2 && st.Queued == 1 })
		s.mu.Lock()
		p := s.pools["p"]
		s.mu.Unlock()
		p.mu.Lock()
		inPool := len(p.queue) - p.qhead
		p.mu.Unlock()
		if inPool != 1-want {
			t.Fatalf("ahead=%d: %d tasks in the pool's queue, want %d", ahead, inPool, 1-want)
		}
		for _, id := range []string{a, b, d} {
			if _, err := c.wait(id, 10*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
}
