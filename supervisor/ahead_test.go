package supervisor

import (
	"strings"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// warm runs n instant tasks, so that the pool knows its jobs are short and
// sends jobs ahead.
func warm(t *testing.T, c *testClient, pool string, n int) {
	t.Helper()
	for range n {
		if _, err := c.apply(pool, "pid"); err != nil {
			t.Fatal(err)
		}
	}
}

// inPoolQueue is how many jobs wait in the pool's own queue (not sent
// ahead to a worker).
func inPoolQueue(s *Supervisor, pool string) int {
	s.mu.Lock()
	p := s.pools[pool]
	s.mu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue) - p.qhead
}

// A worker that runs tasks in order is sent the next task ahead. When it
// is lost mid-task, only the running task fails; the one sent ahead never
// started, so it runs on the replacement, uncharged (no retries allowed).
func TestAheadTaskSurvivesLostWorker(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 1, "inorder"))
	warm(t, c, "p", 10)
	pid1, _ := c.apply("p", "pid")
	killer := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "kill", Args: json.RawMessage(`[0.2]`)})
	after := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "pid"})
	// While the killer runs, the last waits at the worker, counted as
	// queued, not in the pool's queue.
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Busy == 1 && st.Queued == 1 })
	if n := inPoolQueue(s, "p"); n != 0 {
		t.Fatalf("%d jobs in the pool's queue, want the last sent ahead", n)
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
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Failed == 1 && st.Done == 12 && st.Restarts == 1 })
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
	warm(t, c, "p", 10)
	slow := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[30]`)})
	// Sent ahead at once; it must not be charged the 0.3 s the slow one
	// runs before it: 0.2 s of its own is within its timeout.
	next := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.2]`)})
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Busy == 1 && st.Queued == 1 })
	if n := inPoolQueue(s, "p"); n != 0 {
		t.Fatalf("%d jobs in the pool's queue, want the second sent ahead", n)
	}
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
	warm(t, c, "p", 2) // the first worker's share
	var ids []string
	for range 6 {
		ids = append(ids, c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "pid"}))
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
	warm(t, c, "p", 10)
	running := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[30]`)})
	ahead := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "double", Args: json.RawMessage(`[1]`)})
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Busy == 1 && st.Queued == 1 })
	if n := inPoolQueue(s, "p"); n != 0 {
		t.Fatalf("%d jobs in the pool's queue, want the second sent ahead", n)
	}
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
		if inPool := inPoolQueue(s, "p"); inPool != 1-want {
			t.Fatalf("ahead=%d: %d tasks in the pool's queue, want %d", ahead, inPoolQueue(s, "p"), 1-want)
		}
		for _, id := range []string{a, b, d} {
			if _, err := c.wait(id, 10*time.Second); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Jobs that run long are not sent ahead: the third of three downloads on
// two workers goes to whichever worker frees up first.
func TestLongJobsNotSentAhead(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 2, "inorder"))
	for range 4 {
		if _, err := c.apply("p", "sleep", 0.02); err != nil {
			t.Fatal(err)
		}
	}
	long := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[5]`)})
	short := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.2]`)})
	third := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.1]`)})
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Busy == 2 && st.Queued == 1 })
	if n := inPoolQueue(s, "p"); n != 1 {
		t.Fatalf("%d jobs in the pool's queue, want the third kept there", n)
	}
	start := time.Now()
	if _, err := c.wait(third, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the third job took %v: it waited behind the 5 s one", d)
	}
	for _, id := range []string{short, long} {
		if _, err := c.wait(id, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}
