package corral

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

func TestDoublerTranscript(t *testing.T) {
	needDoubler(t)
	w := startRaw(t, doublerBin, []string{"CORRAL_WORKER_ID=1"}, false)

	wantError(t, w.call("1", protocol.MethodTaskRun, `{"task":"t0","fn":"double","args":[1]}`), protocol.CodeNotInitialized)
	h := w.hello()
	if h.Protocol != protocol.Version || h.Role != protocol.RoleWorker || h.Name != "doubler-go" ||
		!slices.Equal(h.Functions, []string{"double"}) || !h.Batch {
		t.Fatalf("hello = %+v", h)
	}
	wantResult(t, w.call("2", protocol.MethodTaskRun, `{"task":"t1","fn":"double","args":[21]}`), "42")
	wantResult(t, w.call(`"s-3"`, protocol.MethodTaskRun, `{"task":"t1","fn":"double","args":[-4],"kwargs":{}}`), "-8")
	wantResult(t, w.call("4", protocol.MethodTaskMap, `{"task":"t2","fn":"double","items":[[1],[2]],"star":true}`), "[2,4]")
	wantResult(t, w.call("5", protocol.MethodTaskMap, `{"task":"t2","fn":"double","items":[]}`), "[]")

	// A map of 10,000 items: decoded and encoded in one pass each.
	items := make([]int, 10000)
	for i := range items {
		items[i] = i - 5000
	}
	raw, _ := json.Marshal(items)
	r := w.call("6", protocol.MethodTaskMap, `{"task":"t3","fn":"double","items":`+string(raw)+`}`)
	var got []int
	if r.Error != nil || json.Unmarshal(r.Result, &got) != nil || len(got) != len(items) {
		t.Fatalf("map of 10,000: %v, %d results", r.Error, len(got))
	}
	for i, v := range got {
		if v != 2*items[i] {
			t.Fatalf("item %d: got %d, want %d", i, v, 2*items[i])
		}
	}

	wantError(t, w.call("7", protocol.MethodTaskRun, `{"task":"t4","fn":"triple","args":[1]}`), protocol.CodeUnknownFunction)
	wantError(t, w.call("8", "task.dance", `{}`), jsonrpc.CodeMethodNotFound)
	d := wantError(t, w.call("9", protocol.MethodTaskRun, `{"task":"t5","fn":"double","args":["x"]}`), protocol.CodeTaskFailed)
	if d.Type != "TypeError" {
		t.Fatalf("wrong argument type: data %+v", d)
	}
	d = wantError(t, w.call("10", protocol.MethodTaskRun, `{"task":"t5","fn":"double","args":[1,2]}`), protocol.CodeTaskFailed)
	if d.Type != "TypeError" || !strings.Contains(d.Message, "takes 1 argument, got 2") {
		t.Fatalf("two arguments: data %+v", d)
	}
	wantError(t, w.call("11", protocol.MethodTaskRun, `{"task":"t5","fn":"double","args":[1],"kwargs":{"x":1}}`), protocol.CodeTaskFailed)
	wantError(t, w.call("12", protocol.MethodTaskRun, `[1]`), protocol.CodeInvalidParams)
	wantError(t, w.call("12", protocol.MethodTaskRun, `{"task":"t5","fn":"double","args":[1],"kwargs":[1]}`), protocol.CodeInvalidParams)
	wantError(t, w.call("12", protocol.MethodTaskMap, `{"task":"t5","items":[1]}`), protocol.CodeInvalidParams)
	wantError(t, w.call("12", protocol.MethodTaskMap, `{"task":"t5","fn":"double"}`), protocol.CodeInvalidParams)

	// null is not an int: the item at fault is named.
	d = wantError(t, w.call("12", protocol.MethodTaskMap, `{"task":"t5","fn":"double","items":[1,2,null]}`), protocol.CodeTaskFailed)
	if d.Index == nil || *d.Index != 2 || d.Type != "TypeError" || d.Traceback == "" {
		t.Fatalf("null item: data %+v", d)
	}
	d = wantError(t, w.call("12", protocol.MethodTaskMap, `{"task":"t5","fn":"double","items":[1,"x"]}`), protocol.CodeTaskFailed)
	if d.Index == nil || *d.Index != 1 {
		t.Fatalf("string item: data %+v", d)
	}

	// Requests sent just before the end of input are still answered.
	w.send(`{"jsonrpc":"2.0","id":13,"method":"task.run","params":{"task":"t6","fn":"double","args":[5]}}`)
	w.in.Close()
	wantResult(t, w.recv(), "10")
	w.closeAndWait()
}

func TestWorkerVersionMismatch(t *testing.T) {
	needDoubler(t)
	w := startRaw(t, doublerBin, []string{"CORRAL_WORKER_ID=1"}, false)
	r := w.call("1", protocol.MethodHello, `{"protocol":"corral/9","role":"supervisor"}`)
	wantError(t, r, protocol.CodeVersionMismatch)
	if !strings.Contains(r.Error.Message, "corral/9") {
		t.Fatalf("message %q does not name the peer's version", r.Error.Message)
	}
	wantError(t, w.call("1", protocol.MethodHello, `{"role":"supervisor"}`), protocol.CodeInvalidParams)
	// Still not initialized.
	wantError(t, w.call("2", protocol.MethodTaskRun, `{"task":"t","fn":"double","args":[1]}`), protocol.CodeNotInitialized)
	w.closeAndWait()
	if !w.stderrHas("refused corral.hello") {
		t.Fatalf("stderr %q does not explain the refused hello", w.stderr.String())
	}
}

func TestWorkerErrors(t *testing.T) {
	w := startRaw(t, testBin(t), []string{testWorkerEnv + "=1", "CORRAL_WORKER_ID=1"}, false)
	w.hello()

	d := wantError(t, w.call("1", protocol.MethodTaskRun, `{"task":"a","fn":"fail","args":["x"]}`), protocol.CodeTaskFailed)
	if d.Type != "ValueError" || d.Message != "bad value x" || d.Index != nil {
		t.Fatalf("typed error: %+v", d)
	}
	d = wantError(t, w.call("2", protocol.MethodTaskRun, `{"task":"b","fn":"plain","args":[null]}`), protocol.CodeTaskFailed)
	if d.Type != "error" || d.Message != "plain failure" {
		t.Fatalf("plain error: %+v", d)
	}
	d = wantError(t, w.call("3", protocol.MethodTaskRun, `{"task":"c","fn":"taskerr","args":[null]}`), protocol.CodeTaskFailed)
	if d.Type != "KeyError" || d.Message != "missing k" || d.Traceback != "line 1\nline 2" {
		t.Fatalf("TaskError: %+v", d)
	}
	d = wantError(t, w.call("4", protocol.MethodTaskRun, `{"task":"d","fn":"panic","args":[null]}`), protocol.CodeTaskFailed)
	if d.Type != "panic" || d.Message != "handler blew up" || !strings.Contains(d.Traceback, "helperWorker") {
		t.Fatalf("panic: %+v", d)
	}
	// The worker keeps serving after a panic.
	wantResult(t, w.call("5", protocol.MethodTaskRun, `{"task":"e","fn":"double","args":[4]}`), "8")

	// In a map, the failing item's index is reported.
	d = wantError(t, w.call("6", protocol.MethodTaskMap, `{"task":"f","fn":"failon13","items":[11,12,13,14]}`), protocol.CodeTaskFailed)
	if d.Index == nil || *d.Index != 2 || d.Type != "ValueError" {
		t.Fatalf("map failure: %+v", d)
	}
	d = wantError(t, w.call("7", protocol.MethodTaskMap, `{"task":"g","fn":"panic","items":[1,2]}`), protocol.CodeTaskFailed)
	if d.Index == nil || *d.Index != 0 || d.Type != "panic" {
		t.Fatalf("map panic: %+v", d)
	}

	// Any arity, keyword arguments, and maps of such functions.
	wantResult(t, w.call("8", protocol.MethodTaskRun, `{"task":"h","fn":"add","args":[1,2,3]}`), "6")
	wantResult(t, w.call("9", protocol.MethodTaskRun, `{"task":"h","fn":"add","args":[1,2],"kwargs":{"scale":10}}`), "30")
	wantResult(t, w.call("10", protocol.MethodTaskMap, `{"task":"i","fn":"add","items":[[1,2],[3,4]],"star":true}`), "[3,7]")
	wantResult(t, w.call("11", protocol.MethodTaskMap, `{"task":"i","fn":"add","items":[5,6]}`), "[5,6]")
	wantResult(t, w.call("12", protocol.MethodTaskRun, `{"task":"j","fn":"echo","args":[{"a":[1]}],"kwargs":{"z":1,"y":2}}`),
		`{"first":{"a":[1]},"kwargs":["y","z"],"n":1}`)
	d = wantError(t, w.call("13", protocol.MethodTaskRun, `{"task":"k","fn":"add","args":[1,"two"]}`), protocol.CodeTaskFailed)
	if d.Type != "TypeError" || !strings.Contains(d.Message, "argument 1") {
		t.Fatalf("bad argument: %+v", d)
	}
	d = wantError(t, w.call("13", protocol.MethodTaskRun, `{"task":"k","fn":"add","args":[1,null]}`), protocol.CodeTaskFailed)
	if d.Type != "TypeError" || !strings.Contains(d.Message, "null") {
		t.Fatalf("null argument: %+v", d)
	}

	// What a handler prints does not reach the protocol: it goes to stderr.
	wantResult(t, w.call("14", protocol.MethodTaskRun, `{"task":"l","fn":"print","args":["printed by a handler"]}`), `"printed by a handler"`)
	w.closeAndWait()
	if !w.stderrHas("printed by a handler") {
		t.Fatalf("stderr %q lacks the handler's output", w.stderr.String())
	}
}

// With CORRAL_PROTOCOL_FDS=3,4 the protocol runs on fds 3 and 4, and
// stdout is the program's own.
func TestWorkerFDs(t *testing.T) {
	w := startRaw(t, testBin(t), []string{testWorkerEnv + "=1", "CORRAL_WORKER_ID=1"}, true)
	h := w.hello()
	if !slices.Contains(h.Functions, "double") {
		t.Fatalf("hello = %+v", h)
	}
	wantResult(t, w.call("1", protocol.MethodTaskRun, `{"task":"a","fn":"double","args":[8]}`), "16")
	wantResult(t, w.call("2", protocol.MethodTaskRun, `{"task":"b","fn":"print","args":["to stdout"]}`), `"to stdout"`)
	w.closeAndWait()
	if got := w.stdout.String(); got != "to stdout\n" {
		t.Fatalf("stdout = %q", got)
	}
}

func TestWorkerBadFDs(t *testing.T) {
	needDoubler(t)
	w := startRaw(t, doublerBin, []string{protocol.EnvProtocolFDs + "=5,6"}, false)
	w.in.Close()
	<-w.exited
	if w.err == nil || !w.stderrHas("5,6") {
		t.Fatalf("exit %v, stderr %q", w.err, w.stderr.String())
	}
}

type fakeEnv map[string]string

func (e fakeEnv) Getenv(k string) string { return e[k] }

func TestRunByHand(t *testing.T) {
	tests := []struct {
		env      fakeEnv
		terminal bool
		want     bool
	}{
		{fakeEnv{}, true, true},
		{fakeEnv{}, false, false},
		{fakeEnv{protocol.EnvWorkerID: "3"}, true, false},
		{fakeEnv{protocol.EnvWorkerID: "3"}, false, false},
	}
	for _, tt := range tests {
		if got := runByHand(tt.env, tt.terminal); got != tt.want {
			t.Errorf("runByHand(%v, terminal=%v) = %v", tt.env, tt.terminal, got)
		}
	}
	msg := byHandMessage("doubler", "./doubler")
	for _, want := range []string{"doubler is a corral worker", "not meant to be run by hand", "corral check-worker -- ./doubler"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if isTerminal(os.Stdin) && os.Getenv(protocol.EnvWorkerID) == "" {
		t.Log("stdin is a terminal")
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null taken for a terminal")
	}
}

// ServeConn stops when its context ends, even while a read is blocked and a
// task is running, and the task sees its context end.
func TestServeConnCancel(t *testing.T) {
	reqR, reqW, _ := os.Pipe()
	repR, repW, _ := os.Pipe()
	defer reqW.Close()
	defer repR.Close()
	started := make(chan struct{})
	w := NewWorker("t")
	Handle(w, "block", func(ctx context.Context, _ int) (int, error) {
		close(started)
		<-ctx.Done()
		return 0, ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- w.ServeConn(ctx, reqR, repW) }()
	reqW.WriteString(`{"jsonrpc":"2.0","id":1,"method":"corral.hello","params":{"protocol":"corral/1","role":"supervisor"}}` + "\n")
	reqW.WriteString(`{"jsonrpc":"2.0","id":2,"method":"task.run","params":{"task":"a","fn":"block","args":[1]}}` + "\n")
	<-started
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ServeConn = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeConn did not return after cancel")
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	w := NewWorker("")
	Handle(w, "f", func(context.Context, int) (int, error) { return 0, nil })
	w.HandleArgs("f", func(context.Context, Args) (any, error) { return nil, nil })
}
