package corral

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The test binary doubles as a worker: with CORRAL_TEST_WORKER=1 it serves
// helperWorker's functions and exits, as go-plugin's TestHelperProcess does.
const testWorkerEnv = "CORRAL_TEST_WORKER"

// Binaries built once for every test; buildErr says why one is missing.
var (
	binDir     string
	doublerBin string
	corralBin  string
	corralErr  error
	doublerErr error
)

func TestMain(m *testing.M) {
	if os.Getenv(testWorkerEnv) == "1" {
		if err := helperWorker().Serve(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "test worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "corral-go-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	doublerBin = filepath.Join(dir, "doubler-go")
	doublerErr = goBuild(doublerBin, "./examples/doubler-go")
	corralBin = filepath.Join(dir, "corral")
	corralErr = goBuild(corralBin, "./cmd/corral")
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// goBuild builds pkg (relative to the module root) into out.
func goBuild(out, pkg string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

func needDoubler(t testing.TB) {
	t.Helper()
	if doublerErr != nil {
		t.Fatal(doublerErr)
	}
}

func needCorral(t testing.TB) {
	t.Helper()
	needDoubler(t)
	if corralErr != nil {
		t.Fatal(corralErr)
	}
}

// testBin is this test binary, run as a worker with testWorkerEnv=1.
func testBin(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// typedErr is a handler error that names its type.
type typedErr struct{ typ, msg string }

func (e typedErr) Error() string     { return e.msg }
func (e typedErr) ErrorType() string { return e.typ }

// helperWorker is the scripted worker the tests drive.
func helperWorker() *Worker {
	w := NewWorker("helper")
	Handle(w, "double", func(_ context.Context, n int) (int, error) { return 2 * n, nil })
	Handle(w, "pid", func(context.Context, any) (int, error) { return os.Getpid(), nil })
	// drain takes a queue handle and empties it through the worker's own
	// connection, returning the items.
	Handle(w, "drain", func(ctx context.Context, r Ref) ([]string, error) {
		c, err := w.Client(ctx)
		if err != nil {
			return nil, err
		}
		if r.Kind != "queue" {
			return nil, fmt.Errorf("drain wants a queue, got a %s", r.Kind)
		}
		q := c.Queue(r.Name)
		items := []string{}
		for {
			var s string
			err := q.GetNowait(ctx, &s)
			if errors.Is(err, ErrEmpty) {
				return items, nil
			}
			if err != nil {
				return nil, err
			}
			items = append(items, s)
		}
	})
	Handle(w, "fail", func(_ context.Context, s string) (int, error) {
		return 0, typedErr{"ValueError", "bad value " + s}
	})
	Handle(w, "plain", func(context.Context, any) (int, error) { return 0, errors.New("plain failure") })
	Handle(w, "taskerr", func(context.Context, any) (int, error) {
		return 0, &TaskError{Type: "KeyError", Message: "missing k", Traceback: "line 1\nline 2"}
	})
	Handle(w, "panic", func(context.Context, any) (int, error) { panic("handler blew up") })
	// failon fails for the item 13 and doubles the others.
	Handle(w, "failon13", func(_ context.Context, n int) (int, error) {
		if n == 13 {
			return 0, typedErr{"ValueError", "thirteen"}
		}
		return 2 * n, nil
	})
	Handle(w, "sleep", func(ctx context.Context, secs float64) (float64, error) {
		select {
		case <-time.After(time.Duration(secs * float64(time.Second))):
			return secs, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	})
	// crash ends the worker process mid-task.
	Handle(w, "crash", func(_ context.Context, code int) (int, error) {
		os.Exit(code)
		return 0, nil
	})
	// print writes to stdout, which must not disturb the protocol.
	Handle(w, "print", func(_ context.Context, s string) (string, error) {
		fmt.Println(s)
		return s, nil
	})
	w.HandleArgs("add", func(_ context.Context, a Args) (any, error) {
		sum := 0
		for i := range a.Len() {
			var n int
			if err := a.Decode(i, &n); err != nil {
				return nil, err
			}
			sum += n
		}
		var scale int
		if ok, err := a.Kwarg("scale", &scale); err != nil {
			return nil, err
		} else if ok {
			sum *= scale
		}
		return sum, nil
	})
	w.HandleArgs("echo", func(_ context.Context, a Args) (any, error) {
		out := map[string]any{"n": a.Len(), "kwargs": a.Kwargs()}
		if a.Len() > 0 {
			out["first"] = a.Raw(0)
		}
		return out, nil
	})
	return w
}

// helperEnv is the environment that makes the test binary a worker.
func helperEnv() map[string]string {
	// A race-enabled binary sleeps a second at exit unless told not to.
	return map[string]string{testWorkerEnv: "1", "GORACE": "atexit_sleep_ms=0"}
}
