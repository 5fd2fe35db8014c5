// Package testworker is a scripted worker for tests: a test binary that sees
// Env in its environment calls Run and becomes a worker serving double,
// sleep, crash, kill, fail, pid, slowpid, garbage and env, as go-plugin's
// TestHelperProcess does. Misbehaviours for the handshake are picked with
// ModeEnv: "no-hello", "exit-at-once", "wrong-version", "nobatch"; and
// "inorder", a good worker that says it runs tasks in order (tasks may be
// sent ahead to it).
package testworker

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// Env, when set, makes a test binary act as a worker; ModeEnv picks its
// misbehaviour for the handshake: "" is a good worker.
const (
	Env     = "CORRAL_TEST_WORKER"
	ModeEnv = "CORRAL_TEST_MODE"
)

// Run serves as a worker on stdin/stdout (or fds 3/4) until EOF, then
// exits the process.
func Run(mode string) {
	in, out := os.Stdin, os.Stdout
	if os.Getenv(protocol.EnvProtocolFDs) == "3,4" {
		in, out = os.NewFile(3, "proto-in"), os.NewFile(4, "proto-out")
	}
	switch mode {
	case "no-hello":
		time.Sleep(time.Hour)
	case "exit-at-once":
		os.Exit(4)
	}
	done := make(chan struct{})
	// Tasks run one at a time, in order, off the read loop (a handler must
	// not block it): on a runner fed by the read loop.
	type queued struct {
		c   *jsonrpc.Conn
		req *jsonrpc.Request
	}
	tasks := make(chan queued, 1024)
	var handle func(ctx context.Context, c *jsonrpc.Conn, req *jsonrpc.Request) (any, error)
	go func() {
		for t := range tasks {
			res, err := handle(context.Background(), t.c, t.req)
			t.c.Reply(t.req.ID, res, err)
		}
	}()
	h := jsonrpc.HandlerFunc(func(ctx context.Context, c *jsonrpc.Conn, req *jsonrpc.Request) (any, error) {
		if req.Method == protocol.MethodTaskRun || req.Method == protocol.MethodTaskMap {
			tasks <- queued{c, req}
			return nil, jsonrpc.ErrAsync
		}
		return handle(ctx, c, req)
	})
	handle = func(ctx context.Context, c *jsonrpc.Conn, req *jsonrpc.Request) (any, error) {
		switch req.Method {
		case protocol.MethodHello:
			proto := protocol.Version
			if mode == "wrong-version" {
				proto = "corral/99"
			}
			return protocol.HelloResult{Protocol: proto, Role: protocol.RoleWorker,
				Functions: []string{"double", "sleep", "crash", "kill", "fail", "pid", "slowpid", "garbage", "env"}, Batch: mode != "nobatch",
				InOrder: mode == "inorder"}, nil
		case protocol.MethodTaskRun:
			var p protocol.RunParams
			if err := json.Unmarshal(req.Params, &p); err != nil {
				return nil, err
			}
			var args []json.RawMessage
			json.Unmarshal(p.Args, &args)
			return call(p.Fn, args)
		case protocol.MethodTaskMap:
			var p protocol.RunMapParams
			json.Unmarshal(req.Params, &p)
			var items []json.RawMessage
			json.Unmarshal(p.Items, &items)
			res := make([]any, len(items))
			for i, it := range items {
				args := []json.RawMessage{it}
				if p.Star {
					json.Unmarshal(it, &args)
				}
				r, err := call(p.Fn, args)
				if err != nil {
					e := err.(*jsonrpc.Error)
					var d protocol.ErrorData
					json.Unmarshal(e.Data, &d)
					d.Index = &i
					return nil, protocol.ErrorWith(e.Code, e.Message, d)
				}
				res[i] = r
			}
			return res, nil
		}
		return nil, jsonrpc.Errorf(jsonrpc.CodeMethodNotFound, "no method %s", req.Method)
	}
	c := jsonrpc.NewConn(in, out, nil, h, jsonrpc.Options{})
	go func() { <-c.Done(); close(done) }()
	c.Start()
	<-done
	os.Exit(0)
}

func call(fn string, args []json.RawMessage) (any, error) {
	arg := func(i int) float64 {
		if i >= len(args) {
			return 0
		}
		var f float64
		json.Unmarshal(args[i], &f)
		return f
	}
	switch fn {
	case "double":
		var n json.Number
		if len(args) != 1 || json.Unmarshal(args[0], &n) != nil {
			return nil, protocol.ErrorWith(protocol.CodeTaskFailed, "double wants one number",
				protocol.ErrorData{Type: "TypeError", Message: "double wants one number", Traceback: "Traceback: call(double)"})
		}
		if i, err := n.Int64(); err == nil {
			return i * 2, nil
		}
		return arg(0) * 2, nil
	case "sleep":
		if arg(0) < 0 {
			return nil, protocol.ErrorWith(protocol.CodeTaskFailed, "ValueError: negative sleep length",
				protocol.ErrorData{Type: "ValueError", Message: "negative sleep length"})
		}
		time.Sleep(time.Duration(arg(0) * float64(time.Second)))
		return arg(0), nil
	case "crash":
		os.Exit(int(arg(0)))
	case "kill":
		// An optional delay lets the answer to the task before go out
		// first: replies are written by the connection's own goroutine.
		time.Sleep(time.Duration(arg(0) * float64(time.Second)))
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Hour)
	case "fail":
		return nil, protocol.ErrorWith(protocol.CodeTaskFailed, "ValueError: bad input",
			protocol.ErrorData{Type: "ValueError", Message: "bad input", Traceback: "line 1\nline 2",
				Value: json.RawMessage(`{"$pickle":"gAQu"}`)})
	case "pid":
		return os.Getpid(), nil
	case "slowpid":
		time.Sleep(time.Duration(arg(0) * float64(time.Second)))
		return os.Getpid(), nil
	case "garbage":
		fmt.Println("this is not JSON-RPC")
		fmt.Fprintln(os.Stderr, "a line on stderr")
		return "ok", nil
	case "env":
		return map[string]string{
			"socket": os.Getenv(protocol.EnvSocket), "id": os.Getenv(protocol.EnvWorkerID),
			"name": os.Getenv(protocol.EnvWorkerName), "pool": os.Getenv(protocol.EnvPool),
		}, nil
	}
	return nil, protocol.Errorf(protocol.CodeUnknownFunction, "unknown function %q", fn)
}

// Spec is a pool of the running test binary acting as a worker.
func Spec(name string, workers int, mode string) protocol.PoolSpec {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return protocol.PoolSpec{
		Name: name, Command: exe, Workers: workers,
		Args: []string{"-test.run=^$"},
		// A race-enabled binary sleeps a second at exit unless told not
		// to; workers exit often in tests.
		Env: map[string]string{Env: "1", ModeEnv: mode, "GORACE": "atexit_sleep_ms=0"},
	}
}

// MainIfWorker runs the worker and exits when the process was started as
// one; call it first thing in TestMain.
func MainIfWorker() {
	if os.Getenv(Env) != "" {
		Run(os.Getenv(ModeEnv))
	}
}
