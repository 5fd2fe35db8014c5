package corral

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/protocol"
)

func TestPoolDoubler(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	p := doublerPool(t, c, "doubler", 2)
	if p.Name() != "doubler" || !slices.Equal(p.Functions(), []string{"double"}) {
		t.Fatalf("pool %q serves %v", p.Name(), p.Functions())
	}

	r, err := p.Submit(ctx, "double", 21)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID() == "" {
		t.Fatal("no task id")
	}
	for range 2 { // the outcome is kept for a second Get
		var n int
		if err := r.Get(ctx, &n); err != nil || n != 42 {
			t.Fatalf("Get = %d, %v", n, err)
		}
	}
	if ok, err := r.Ready(ctx); !ok || err != nil {
		t.Fatalf("Ready after Get = %v, %v", ok, err)
	}
	if ok, err := r.Successful(); !ok || err != nil {
		t.Fatalf("Successful = %v, %v", ok, err)
	}

	var n int
	if err := p.Apply(ctx, &n, "double", -3); err != nil || n != -6 {
		t.Fatalf("Apply = %d, %v", n, err)
	}

	items := make([]int, 1000)
	for i := range items {
		items[i] = i
	}
	got, err := Map[int](ctx, p, "double", items)
	if err != nil || len(got) != len(items) {
		t.Fatalf("Map: %d results, %v", len(got), err)
	}
	for i, v := range got {
		if v != 2*i {
			t.Fatalf("Map[%d] = %d", i, v)
		}
	}
	if got, err := Map[int](ctx, p, "double", []int{}); err != nil || len(got) != 0 {
		t.Fatalf("Map of nothing = %v, %v", got, err)
	}
	if got, err := Map[int](ctx, p, "double", items[:10], Chunksize(3)); err != nil || got[9] != 18 {
		t.Fatalf("Map with chunksize 3 = %v, %v", got, err)
	}
	if got, err := Starmap[int](ctx, p, "double", [][]int{{1}, {2}, {3}}); err != nil || !slices.Equal(got, []int{2, 4, 6}) {
		t.Fatalf("Starmap = %v, %v", got, err)
	}

	// Imap delivers in input order, however chunks finish.
	var ordered []int
	for v, err := range Imap[int](ctx, p, "double", items[:100], Chunksize(7)) {
		if err != nil {
			t.Fatalf("Imap: %v", err)
		}
		ordered = append(ordered, v)
	}
	if len(ordered) != 100 || !slices.IsSorted(ordered) || ordered[99] != 198 {
		t.Fatalf("Imap = %v", ordered)
	}
	var unordered []int
	for v, err := range ImapUnordered[int](ctx, p, "double", items[:100], Chunksize(7)) {
		if err != nil {
			t.Fatalf("ImapUnordered: %v", err)
		}
		unordered = append(unordered, v)
	}
	slices.Sort(unordered)
	if !slices.Equal(unordered, ordered) {
		t.Fatalf("ImapUnordered = %v", unordered)
	}
	// Breaking out of an Imap early leaves the client usable.
	for v, err := range Imap[int](ctx, p, "double", items, Chunksize(10)) {
		if err != nil || v != 0 {
			t.Fatalf("first of Imap = %d, %v", v, err)
		}
		break
	}

	// The supervisor may refuse the task, or accept it and fail it.
	if r, err := p.Submit(ctx, "triple", 1); err == nil {
		err = r.Get(ctx, nil)
		if !errors.Is(err, ErrUnknownFunction) {
			t.Fatalf("Get of an unknown function = %v", err)
		}
	} else if !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("Submit of an unknown function = %v", err)
	}
	if _, err := Map[int](ctx, p, "triple", items[:3]); !errors.Is(err, ErrUnknownFunction) {
		t.Fatalf("Map of an unknown function = %v", err)
	}

	st, err := p.Stats(ctx)
	if err != nil || st.Name != "doubler" || st.Workers != 2 || st.State != protocol.PoolRunning {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
	if _, err := c.CreatePool(ctx, protocol.PoolSpec{Name: "doubler", Command: doublerBin}); err == nil {
		t.Fatal("a second pool named doubler was created")
	} else if e := new(Error); !errors.As(err, &e) || e.Code != protocol.CodeConflict {
		t.Fatalf("duplicate pool: %v", err)
	}

	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Submit(ctx, "double", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit to a closed pool = %v", err)
	}
	if _, err := c.Pool("nope").Stats(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stats of a missing pool = %v", err)
	}
}

func TestGetTimeout(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	p := helperPool(t, c, "h", protocol.PoolSpec{Workers: 1})
	r, err := p.Submit(ctx, "sleep", 0.5)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = r.Get(short, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Get past its deadline = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("timed-out Get took %v", d)
	}
	if ok, err := r.Ready(ctx); ok || err != nil {
		t.Fatalf("Ready of a running task = %v, %v", ok, err)
	}
	// The task kept running: a later Get has its result.
	var secs float64
	if err := r.Get(ctx, &secs); err != nil || secs != 0.5 {
		t.Fatalf("Get = %v, %v", secs, err)
	}

	// Apply's deadline works the same way.
	short, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := p.Apply(short, nil, "sleep", 0.5); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Apply past its deadline = %v, want ErrTimeout", err)
	}

	// A Get whose deadline has already passed still gets a finished task's
	// result (like AsyncResult.get(0)). One worker runs tasks in order, so
	// double is done once the Apply after it is.
	r, err = p.Submit(ctx, "double", 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(ctx, nil, "double", 0); err != nil {
		t.Fatal(err)
	}
	expired, cancel3 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel3()
	var n int
	if err := r.Get(expired, &n); err != nil || n != 8 {
		t.Fatalf("Get of a finished task with an expired deadline = %d, %v", n, err)
	}

	// Cancelling a Get returns at once; the outcome is not lost.
	r, err = p.Submit(ctx, "sleep", 0.3)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel2 := context.WithCancel(ctx)
	cancel2()
	if err := r.Get(cctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context = %v", err)
	}
	if err := r.Get(ctx, &secs); err != nil || secs != 0.3 {
		t.Fatalf("Get after a cancelled Get = %v, %v", secs, err)
	}
}

func TestTaskFailures(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	p := helperPool(t, c, "h", protocol.PoolSpec{Workers: 2})

	err := p.Apply(ctx, nil, "fail", "x")
	var e *Error
	if !errors.Is(err, ErrTaskFailed) || !errors.As(err, &e) || e.Data.Type != "ValueError" || e.Data.Message != "bad value x" {
		t.Fatalf("Apply of a failing function = %v (%+v)", err, e)
	}
	if !strings.Contains(err.Error(), "pool h: apply fail") {
		t.Fatalf("error %q lacks context", err)
	}
	r, err := p.Submit(ctx, "panic", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = r.Get(ctx, nil)
	if !errors.As(err, &e) || e.Data.Type != "panic" || !strings.Contains(e.Data.Traceback, "goroutine") {
		t.Fatalf("Get of a panicking task = %v (%+v)", err, e)
	}
	if ok, _ := r.Successful(); ok {
		t.Fatal("a failed task was successful")
	}
	var sum int
	if err := p.Apply(ctx, &sum, "add", 1, 2, Kwargs{"scale": 3}); err != nil || sum != 9 {
		t.Fatalf("Apply with kwargs = %d, %v", sum, err)
	}

	items := make([]int, 20)
	for i := range items {
		items[i] = i
	}
	_, err = Map[int](ctx, p, "failon13", items, Chunksize(4))
	if !errors.Is(err, ErrTaskFailed) || !errors.As(err, &e) || e.Data.Type != "ValueError" {
		t.Fatalf("Map with a failing item = %v", err)
	}
	// Imap yields the failed chunk's error in its place and goes on.
	var got []int
	var errs []error
	for v, err := range Imap[int](ctx, p, "failon13", items, Chunksize(4)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, v)
	}
	if len(errs) != 1 || !errors.Is(errs[0], ErrTaskFailed) || len(got) != 16 || got[15] != 38 {
		t.Fatalf("Imap with a failing chunk: results %v, errors %v", got, errs)
	}
}

// A worker that dies mid-task fails exactly that task with ErrWorkerLost;
// the pool replaces it and carries on.
func TestWorkerLost(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	p := helperPool(t, c, "h", protocol.PoolSpec{Workers: 1})
	err := p.Apply(ctx, nil, "crash", 3)
	var e *Error
	if !errors.Is(err, ErrWorkerLost) || !errors.As(err, &e) {
		t.Fatalf("Apply of a crashing task = %v, want ErrWorkerLost", err)
	}
	if e.Data.ExitCode == nil || *e.Data.ExitCode != 3 {
		t.Errorf("worker lost data = %+v, want exit code 3", e.Data)
	}
	var n int
	if err := p.Apply(ctx, &n, "double", 2); err != nil || n != 4 {
		t.Fatalf("Apply after a crash = %d, %v", n, err)
	}
	st, err := p.Stats(ctx)
	if err != nil || st.Restarts < 1 {
		t.Fatalf("Stats after a crash = %+v, %v", st, err)
	}
}

func TestTerminateAndJoin(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	p := helperPool(t, c, "h", protocol.PoolSpec{Workers: 1})
	slow, err := p.Submit(ctx, "sleep", 30.0)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := p.Join(short); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Join with a task running = %v, want ErrTimeout", err)
	}
	if err := p.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := slow.Get(ctx, nil); !errors.Is(err, ErrTerminated) {
		t.Fatalf("Get of a terminated task = %v, want ErrTerminated", err)
	}
	if err := p.Join(ctx); err != nil {
		t.Fatalf("Join after Terminate = %v", err)
	}
	if st, err := p.Stats(ctx); err != nil || st.State != protocol.PoolTerminated {
		t.Fatalf("Stats after Terminate = %+v, %v", st, err)
	}
}

func TestSpawnFailed(t *testing.T) {
	c := startClient(t)
	_, err := c.CreatePool(testCtx(t), protocol.PoolSpec{Name: "bad", Command: "/no/such/worker", Workers: 1})
	if !errors.Is(err, ErrSpawnFailed) || !strings.Contains(err.Error(), "/no/such/worker") {
		t.Fatalf("CreatePool of a missing command = %v", err)
	}
}

// A pool may put the protocol on fds 3 and 4; the Go shim follows.
func TestPoolFDs(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	p := helperPool(t, c, "fds", protocol.PoolSpec{Workers: 1, Stdio: protocol.StdioFDs})
	var n int
	if err := p.Apply(ctx, &n, "double", 21); err != nil || n != 42 {
		t.Fatalf("Apply on fds = %d, %v", n, err)
	}
	var s string
	if err := p.Apply(ctx, &s, "print", "stdout is free"); err != nil || s != "stdout is free" {
		t.Fatalf("Apply of print on fds = %q, %v", s, err)
	}
	if got, err := Map[int](ctx, p, "double", []int{1, 2, 3}); err != nil || !slices.Equal(got, []int{2, 4, 6}) {
		t.Fatalf("Map on fds = %v, %v", got, err)
	}
}

// Breaking out of Imap cancels the rest of the map: chunks not yet started
// never run, so the pool is free at once rather than after every item.
func TestImapBreakCancels(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)
	p := helperPool(t, c, "slow", protocol.PoolSpec{Workers: 1})
	secs := make([]float64, 40)
	for i := range secs {
		secs[i] = 0.1 // 4 s in all, if nothing were cancelled
	}
	start := time.Now()
	for _, err := range Imap[float64](ctx, p, "sleep", secs, Chunksize(1)) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	for {
		st, err := p.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Busy == 0 && st.Queued == 0 {
			break
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("the rest of the map still runs after the loop stopped: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
