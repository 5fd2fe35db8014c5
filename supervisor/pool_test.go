package supervisor

import (
	"strings"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

func TestPoolApplyMapAndErrors(t *testing.T) {
	for _, mode := range []string{"", "nobatch"} {
		t.Run("mode="+mode, func(t *testing.T) {
			s, _ := newSupervisor(t, nil)
			c := dial(t, s)
			res := c.createPool(testWorkerSpec("p", 2, mode))
			if res.Workers != 2 || len(res.Functions) == 0 {
				t.Fatalf("create: %+v", res)
			}
			if r, err := c.apply("p", "double", 21); err != nil || string(r) != "42" {
				t.Fatalf("double 21 = %s, %v", r, err)
			}
			items := make([]int, 1000)
			for i := range items {
				items[i] = i
			}
			raw, _ := json.Marshal(items)
			for _, cs := range []int{0, 1, 7, 1000, 5000} {
				var mr protocol.MapResult
				c.mustCall(protocol.MethodPoolMap, protocol.MapParams{Pool: "p", Fn: "double", Items: raw, Chunksize: cs}, &mr)
				var got []int
				if err := json.Unmarshal(mr.Results, &got); err != nil || len(got) != len(items) {
					t.Fatalf("chunksize %d: %d results, %v", cs, len(got), err)
				}
				for i, v := range got {
					if v != 2*i {
						t.Fatalf("chunksize %d: result %d = %d", cs, i, v)
					}
				}
			}
			var mr protocol.MapResult
			c.mustCall(protocol.MethodPoolMap, protocol.MapParams{Pool: "p", Fn: "double", Items: json.RawMessage(`[]`)}, &mr)
			if string(mr.Results) != "[]" {
				t.Fatalf("empty map: %s", mr.Results)
			}
			c.mustCall(protocol.MethodPoolMap, protocol.MapParams{Pool: "p", Fn: "double", Items: json.RawMessage(`[[1],[2]]`), Star: true}, &mr)
			if strings.ReplaceAll(string(mr.Results), " ", "") != "[2,4]" {
				t.Fatalf("starmap: %s", mr.Results)
			}
			// A task that raises: its type, message and traceback reach the
			// client, and the pool goes on.
			_, err := c.apply("p", "fail")
			d := errData(t, err)
			if err.Code != protocol.CodeTaskFailed || d.Type != "ValueError" || d.Message != "bad input" || d.Traceback == "" || d.Task == "" || d.Worker == "" ||
				strings.ReplaceAll(string(d.Value), " ", "") != `{"$pickle":"gAQu"}` {
				t.Fatalf("fail: %v %+v", err, d)
			}
			// A map with one bad item fails with the item's index.
			_, err = c.call(protocol.MethodPoolMap, protocol.MapParams{Pool: "p", Fn: "double", Items: json.RawMessage(`[1,2,3,"x",5]`), Chunksize: 2})
			if err == nil || err.Code != protocol.CodeTaskFailed || errData(t, err).Index == nil || *errData(t, err).Index != 3 {
				t.Fatalf("map with a bad item: %v", err)
			}
			if _, err := c.apply("p", "triple"); err == nil || err.Code != protocol.CodeUnknownFunction || !strings.Contains(err.Message, "double") {
				t.Fatalf("unknown function: %v", err)
			}
			if r, err := c.apply("p", "double", 1); err != nil || string(r) != "2" {
				t.Fatalf("after errors: %s, %v", r, err)
			}
		})
	}
}

func TestSubmitWaitTimeoutKeepsTaskRunning(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 1, ""))
	var sub protocol.SubmitResult
	c.mustCall(protocol.MethodPoolSubmit, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.3]`)}, &sub)
	timeout := protocol.Seconds(0.05)
	start := time.Now()
	_, err := c.call(protocol.MethodTaskWait, protocol.WaitParams{Task: sub.Task, Timeout: &timeout})
	if err == nil || err.Code != protocol.CodeTimeout {
		t.Fatalf("wait with timeout: %v", err)
	}
	if el := time.Since(start); el > 250*time.Millisecond {
		t.Fatalf("timeout of 50ms took %v", el)
	}
	var r protocol.TaskResult
	c.mustCall(protocol.MethodTaskWait, protocol.WaitParams{Task: sub.Task}, &r)
	if string(r.Result) != "0.3" {
		t.Fatalf("result after timeout: %s", r.Result)
	}
	// Collected: a second wait says so, unless keep was asked for.
	if _, err := c.call(protocol.MethodTaskWait, protocol.WaitParams{Task: sub.Task}); err == nil || err.Code != protocol.CodeNotFound {
		t.Fatalf("second wait: %v", err)
	}
	// notify=true sends task.done with the tag.
	c.mustCall(protocol.MethodPoolSubmit, protocol.SubmitParams{Pool: "p", Fn: "double", Args: json.RawMessage(`[4]`), Notify: true, Tag: "mine"}, &sub)
	for len(c.notes) == 0 {
		c.notes = append(c.notes, c.readMsg(5*time.Second))
	}
	var done protocol.TaskDone
	json.Unmarshal(c.notes[0]["params"], &done)
	if string(c.notes[0]["method"]) != `"task.done"` || done.Task != sub.Task || done.Tag != "mine" || string(done.Result) != "8" {
		t.Fatalf("task.done: %s", c.notes[0]["params"])
	}
}

func TestImapOrderedAndUnordered(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 2, ""))
	// The first chunk is slow: ordered delivery waits for it, unordered
	// does not.
	items := json.RawMessage(`[0.3, 0.01, 0.01, 0.01]`)
	for _, ordered := range []bool{true, false} {
		c.notes = nil
		var st protocol.ImapStarted
		c.mustCall(protocol.MethodPoolImap, protocol.MapParams{Pool: "p", Fn: "sleep", Items: items, Chunksize: 1, Ordered: ordered, Map: "s"}, &st)
		if st.Map != "s" || st.Count != 4 || st.Chunks != 4 {
			t.Fatalf("imap started: %+v", st)
		}
		var order []int
		for done := false; !done; {
			for len(c.notes) == 0 {
				c.notes = append(c.notes, c.readMsg(5*time.Second))
			}
			n := c.notes[0]
			c.notes = c.notes[1:]
			switch string(n["method"]) {
			case `"map.results"`:
				var mr protocol.MapResults
				json.Unmarshal(n["params"], &mr)
				order = append(order, mr.Index)
			case `"map.done"`:
				done = true
			}
		}
		if len(order) != 4 {
			t.Fatalf("ordered=%v: got chunks %v", ordered, order)
		}
		if ordered && (order[0] != 0 || order[3] != 3) {
			t.Fatalf("ordered: got %v", order)
		}
		if !ordered && order[0] == 0 {
			t.Fatalf("unordered: the slow chunk came first: %v", order)
		}
	}
}

func TestWorkerLostMidTask(t *testing.T) {
	s, logs := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 2, ""))
	slow := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.3]`)})
	_, err := c.apply("p", "kill")
	d := errData(t, err)
	if err.Code != protocol.CodeWorkerLost || d.Signal != "SIGKILL" || d.Task == "" || d.Worker == "" || d.Pid == 0 ||
		!strings.Contains(err.Message, "killed by signal 9") || !strings.Contains(err.Message, d.Worker) {
		t.Fatalf("kill: %v %+v", err, d)
	}
	_, err = c.apply("p", "crash", 7)
	if d := errData(t, err); err.Code != protocol.CodeWorkerLost || d.ExitCode == nil || *d.ExitCode != 7 {
		t.Fatalf("crash: %v", err)
	}
	// The other task was untouched, and the pool carries on.
	if r, err := c.wait(slow, 10*time.Second); err != nil || !strings.Contains(string(r), "0.3") {
		t.Fatalf("bystander task: %s, %v", r, err)
	}
	if r, err := c.apply("p", "double", 2); err != nil || string(r) != "4" {
		t.Fatalf("after losses: %s, %v", r, err)
	}
	waitLog(t, logs, "worker lost mid-task", "SIGKILL")
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Restarts == 2 && st.Workers == 2 && st.Failed == 2 })
}

func TestRetries(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	spec := testWorkerSpec("p", 1, "")
	spec.Retries = 2
	c.createPool(spec)
	_, err := c.apply("p", "kill")
	if err == nil || err.Code != protocol.CodeWorkerLost {
		t.Fatalf("a task that always kills its worker: %v", err)
	}
	// 1 run + 2 retries cost 3 workers.
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Restarts == 3 && st.Failed == 1 && st.Workers == 1 })
}

func TestPoolBrokenByRestartIntensity(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	spec := testWorkerSpec("p", 1, "")
	spec.RestartIntensity = 2
	c.createPool(spec)
	var last *jsonrpc.Error
	for i := 0; i < 6; i++ {
		_, err := c.apply("p", "crash", 1)
		last = err
		if err.Code == protocol.CodePoolBroken {
			break
		}
	}
	if last.Code != protocol.CodePoolBroken || !strings.Contains(last.Message, "restart intensity (2)") {
		t.Fatalf("after repeated crashes: %v", last)
	}
	_, err := c.apply("p", "double", 1)
	if err == nil || err.Code != protocol.CodePoolBroken {
		t.Fatalf("submit to a broken pool: %v", err)
	}
	c.eventually("p", func(st protocol.PoolStats) bool { return st.State == protocol.PoolBroken && st.Workers == 0 })
}

func TestTaskTimeoutReplacesWorker(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	spec := testWorkerSpec("p", 1, "")
	spec.TaskTimeout = 0.2
	spec.StopGrace = 0.5
	c.createPool(spec)
	before, _ := c.apply("p", "pid")
	start := time.Now()
	_, err := c.apply("p", "sleep", 30)
	if err == nil || err.Code != protocol.CodeTaskTimeout || !strings.Contains(err.Message, "timed out after 200ms") {
		t.Fatalf("sleep past the timeout: %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("timeout took %v", el)
	}
	after, err := c.apply("p", "pid")
	if err != nil || string(after) == string(before) {
		t.Fatalf("worker not replaced: before %s after %s (%v)", before, after, err)
	}
}

func TestMaxTasksPerWorker(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	spec := testWorkerSpec("p", 1, "")
	spec.MaxTasksPerWorker = 2
	c.createPool(spec)
	pids := map[string]int{}
	for i := 0; i < 6; i++ {
		r, err := c.apply("p", "pid")
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
			t.Fatalf("worker %s ran %d tasks", pid, n)
		}
	}
}

func TestSpawnAndHelloFailures(t *testing.T) {
	s, logs := newSupervisor(t, nil)
	c := dial(t, s)
	_, err := c.call(protocol.MethodPoolCreate, protocol.PoolSpec{Name: "nope", Command: "corral-no-such-worker", Workers: 2})
	if err == nil || err.Code != protocol.CodeSpawnFailed || !strings.Contains(err.Message, "corral-no-such-worker") || !strings.Contains(err.Message, "not found") {
		t.Fatalf("missing command: %v", err)
	}
	spec := testWorkerSpec("silent", 1, "no-hello")
	spec.HelloTimeout = 0.1
	spec.RestartIntensity = 1
	spec.StopGrace = 0.2
	_, err = c.call(protocol.MethodPoolCreate, spec)
	if err == nil || err.Code != protocol.CodePoolBroken || !strings.Contains(err.Message, "did not answer corral.hello within 100ms") {
		t.Fatalf("silent worker: %v", err)
	}
	waitLog(t, logs, "silent-1", "did not answer corral.hello")
	spec = testWorkerSpec("old", 1, "wrong-version")
	spec.RestartIntensity = 1
	_, err = c.call(protocol.MethodPoolCreate, spec)
	if err == nil || !strings.Contains(err.Message, `protocol "corral/99"`) {
		t.Fatalf("wrong version: %v", err)
	}
	// The supervisor is unaffected.
	c.createPool(testWorkerSpec("ok", 1, ""))
	if r, err := c.apply("ok", "double", 3); err != nil || string(r) != "6" {
		t.Fatalf("after failures: %s %v", r, err)
	}
}

func TestGarbageOutputAndEnv(t *testing.T) {
	s, logs := newSupervisor(t, nil)
	c := dial(t, s)
	for _, stdio := range []string{protocol.StdioPipes, protocol.StdioFDs} {
		spec := testWorkerSpec("p-"+stdio, 1, "")
		spec.Stdio = stdio
		c.createPool(spec)
		if r, err := c.apply(spec.Name, "garbage"); err != nil || string(r) != `"ok"` {
			t.Fatalf("%s: garbage: %s %v", stdio, r, err)
		}
		waitLog(t, logs, "this is not JSON-RPC", spec.Name+"-1")
		waitLog(t, logs, "a line on stderr", "worker stderr", spec.Name+"-1")
		r, err := c.apply(spec.Name, "env")
		var env map[string]string
		json.Unmarshal(r, &env)
		if err != nil || env["socket"] != s.SocketPath() || env["pool"] != spec.Name || env["name"] != spec.Name+"-1" || env["id"] == "" {
			t.Fatalf("%s: env %v %v", stdio, env, err)
		}
	}
}

func TestCloseJoinTerminate(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 2, ""))
	if _, err := c.call(protocol.MethodPoolJoin, protocol.PoolJoinParams{Pool: "p"}); err == nil || err.Code != protocol.CodeValueError {
		t.Fatalf("join on a running pool: %v", err)
	}
	var subs []string
	for i := 0; i < 4; i++ {
		var sub protocol.SubmitResult
		c.mustCall(protocol.MethodPoolSubmit, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.1]`)}, &sub)
		subs = append(subs, sub.Task)
	}
	// Maps that end early or have nothing to do leave nothing pending.
	c.mustCall(protocol.MethodPoolMap, protocol.MapParams{Pool: "p", Fn: "double", Items: json.RawMessage(`[]`)}, nil)
	c.mustCall(protocol.MethodPoolImap, protocol.MapParams{Pool: "p", Fn: "double", Items: json.RawMessage(`[]`), Map: "e"}, nil)
	c.mustCall(protocol.MethodPoolImap, protocol.MapParams{Pool: "p", Fn: "double", Items: json.RawMessage(`[1]`), Map: "x"}, nil)
	if _, err := c.call(protocol.MethodPoolMap, protocol.MapParams{Pool: "p", Fn: "double", Items: json.RawMessage(`[1, 2]`), Star: true}); err == nil {
		t.Fatal("starmap of non-arrays accepted")
	}
	c.mustCall(protocol.MethodPoolClose, protocol.PoolRef{Pool: "p"}, nil)
	if _, err := c.apply("p", "double", 1); err == nil || err.Code != protocol.CodeClosed {
		t.Fatalf("submit after close: %v", err)
	}
	c.mustCall(protocol.MethodPoolJoin, protocol.PoolJoinParams{Pool: "p"}, nil)
	for _, id := range subs {
		var r protocol.TaskResult
		c.mustCall(protocol.MethodTaskWait, protocol.WaitParams{Task: id}, &r)
	}
	// Closed and done: the workers leave and are not replaced.
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Workers == 0 && st.State == protocol.PoolClosed })
	// Terminate fails what is queued and running, with a clear error.
	c.createPool(testWorkerSpec("q", 1, ""))
	running := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "q", Fn: "sleep", Args: json.RawMessage(`[30]`)})
	queued := c.start(protocol.MethodPoolApply, protocol.SubmitParams{Pool: "q", Fn: "double", Args: json.RawMessage(`[1]`)})
	time.Sleep(50 * time.Millisecond) // let the first start
	c.mustCall(protocol.MethodPoolTerminate, protocol.PoolRef{Pool: "q"}, nil)
	for _, id := range []string{running, queued} {
		_, err := c.wait(id, 10*time.Second)
		if err == nil || err.Code != protocol.CodeTerminated || !strings.Contains(err.Message, "terminated") {
			t.Fatalf("task %s after terminate: %v", id, err)
		}
	}
	var st protocol.PoolStats
	c.mustCall(protocol.MethodPoolStats, protocol.PoolRef{Pool: "q"}, &st)
	if st.State != protocol.PoolTerminated || st.Workers != 0 {
		t.Fatalf("terminated pool: %+v", st)
	}
	// Its name can be used again.
	c.createPool(testWorkerSpec("q", 1, ""))
}

func TestClientDisconnectCancelsQueuedTasks(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 1, ""))
	c.start(protocol.MethodPoolSubmit, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[0.2]`)})
	for i := 0; i < 20; i++ {
		c.start(protocol.MethodPoolSubmit, protocol.SubmitParams{Pool: "p", Fn: "sleep", Args: json.RawMessage(`[5]`)})
	}
	c.wait("21", 5*time.Second)
	c.conn.Close()
	c2 := dial(t, s)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var st protocol.PoolStats
		c2.mustCall(protocol.MethodPoolStats, protocol.PoolRef{Pool: "p"}, &st)
		if st.Queued == 0 && st.Busy == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tasks of a gone client still queued: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// eventually polls pool.stats until cond holds (stats settle just after the
// replies they account for).
func (c *testClient) eventually(pool string, cond func(protocol.PoolStats) bool) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st protocol.PoolStats
		c.mustCall(protocol.MethodPoolStats, protocol.PoolRef{Pool: pool}, &st)
		if cond(st) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("pool stats never settled: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A failing chunk of a stream is delivered in its place, and the stream goes
// on to its end, as multiprocessing's imap raises at that position and
// carries on.
func TestImapChunkFailureDoesNotStopStream(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 1, ""))
	c.mustCall(protocol.MethodPoolImap, protocol.MapParams{Pool: "p", Fn: "double", Items: json.RawMessage(`["x",1,2,3]`), Chunksize: 1, Ordered: true, Map: "f"}, nil)
	var got []string
	for done := false; !done; {
		for len(c.notes) == 0 {
			c.notes = append(c.notes, c.readMsg(5*time.Second))
		}
		n := c.notes[0]
		c.notes = c.notes[1:]
		if string(n["method"]) == `"map.done"` {
			done = true
			continue
		}
		var mr protocol.MapResults
		json.Unmarshal(n["params"], &mr)
		if mr.Error != nil {
			got = append(got, "error")
		} else {
			got = append(got, strings.ReplaceAll(string(mr.Results), " ", ""))
		}
	}
	if strings.Join(got, " ") != "error [2] [4] [6]" {
		t.Fatalf("stream delivered %v", got)
	}
	c.mustCall(protocol.MethodPoolClose, protocol.PoolRef{Pool: "p"}, nil)
	c.mustCall(protocol.MethodPoolJoin, protocol.PoolJoinParams{Pool: "p"}, nil)
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Failed == 1 && st.Workers == 0 })
}

// map.cancel stops a stream: what has not started never runs, and the
// stream ends with map.done.
func TestMapCancel(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 1, ""))
	c.mustCall(protocol.MethodPoolImap, protocol.MapParams{Pool: "p", Fn: "sleep", Items: json.RawMessage(`[0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05,0.05]`), Chunksize: 1, Ordered: true, Map: "c"}, nil)
	c.mustCall(protocol.MethodMapCancel, protocol.MapRef{Map: "c"}, nil)
	results := 0
	for done := false; !done; {
		for len(c.notes) == 0 {
			c.notes = append(c.notes, c.readMsg(5*time.Second))
		}
		n := c.notes[0]
		c.notes = c.notes[1:]
		switch string(n["method"]) {
		case `"map.results"`:
			results++
		case `"map.done"`:
			done = true
		}
	}
	if results > 2 {
		t.Fatalf("%d chunks delivered after cancel", results)
	}
	if _, err := c.call(protocol.MethodMapCancel, protocol.MapRef{Map: "c"}); err == nil || err.Code != protocol.CodeNotFound {
		t.Fatalf("cancel of an ended stream: %v", err)
	}
	// Most chunks never ran, and the pool is free again.
	c.eventually("p", func(st protocol.PoolStats) bool { return st.Busy == 0 && st.Queued == 0 })
	if r, err := c.apply("p", "double", 4); err != nil || string(r) != "8" {
		t.Fatalf("after cancel: %s %v", r, err)
	}
}

// A map that fails is answered at once; pool.join still waits for its
// chunks already running (as multiprocessing's join does), while those not
// started are dropped.
func TestJoinWaitsForFailedMapsRunningChunks(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	c.createPool(testWorkerSpec("p", 2, ""))
	start := time.Now()
	// Item 0 fails at once; item 1 runs 0.6 s on the other worker; items
	// 2-5 would take 0.6 s each but never start.
	_, err := c.call(protocol.MethodPoolMap, protocol.MapParams{Pool: "p", Fn: "sleep",
		Items: json.RawMessage(`[-1, 0.6, 0.6, 0.6, 0.6, 0.6]`), Chunksize: 1})
	if err == nil {
		t.Fatal("a map with a failing item succeeded")
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Fatalf("the failure was answered after %v, not at once", d)
	}
	c.mustCall(protocol.MethodPoolClose, protocol.PoolRef{Pool: "p"}, nil)
	c.mustCall(protocol.MethodPoolJoin, protocol.PoolJoinParams{Pool: "p"}, nil)
	d := time.Since(start)
	if d < 500*time.Millisecond {
		t.Fatalf("join returned after %v, before the running chunk (0.6 s) ended", d)
	}
	if d > 1500*time.Millisecond {
		t.Fatalf("join returned after %v: chunks not started were run", d)
	}
	var st protocol.PoolStats
	c.mustCall(protocol.MethodPoolStats, protocol.PoolRef{Pool: "p"}, &st)
	if st.Failed != 1 {
		t.Fatalf("stats after a failed map: %+v", st)
	}
}
