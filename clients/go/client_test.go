package corral

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/protocol"
)

// testCtx bounds a test's calls.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startClient starts a sidecar supervisor for the test; Close is checked
// at cleanup, and the supervisor's log shown when the test failed.
func startClient(t *testing.T) *Client {
	t.Helper()
	needCorral(t)
	log := &syncBuffer{}
	c, err := Start(testCtx(t), StartOptions{Bin: corralBin, Stderr: log})
	if err != nil {
		t.Fatalf("Start: %v\nlog:\n%s", err, log.String())
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("supervisor log:\n%s", log.String())
		}
	})
	return c
}

func doublerPool(t *testing.T, c *Client, name string, workers int) *Pool {
	t.Helper()
	p, err := c.CreatePool(testCtx(t), protocol.PoolSpec{Name: name, Command: doublerBin, Workers: workers})
	if err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	return p
}

func helperPool(t *testing.T, c *Client, name string, spec protocol.PoolSpec) *Pool {
	t.Helper()
	spec.Name, spec.Command, spec.Env = name, testBin(t), helperEnv()
	if spec.Workers == 0 {
		spec.Workers = 2
	}
	p, err := c.CreatePool(testCtx(t), spec)
	if err != nil {
		t.Fatalf("CreatePool: %v", err)
	}
	return p
}

func TestStartAndDial(t *testing.T) {
	c := startClient(t)
	if c.Version() == "" || c.Socket() == "" {
		t.Fatalf("Version %q, Socket %q", c.Version(), c.Socket())
	}
	ctx := testCtx(t)
	doublerPool(t, c, "d", 1)

	st, err := c.Status(ctx)
	if err != nil || st.Pid == 0 || st.Socket != c.Socket() || len(st.Pools) != 1 || st.Pools[0].Name != "d" {
		t.Fatalf("Status = %+v, %v", st, err)
	}

	// A second client dials the socket and sees the same pool.
	d, err := Dial(ctx, c.Socket())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	var n int
	if err := d.Pool("d").Apply(ctx, &n, "double", 5); err != nil || n != 10 {
		t.Fatalf("Apply via the socket = %d, %v", n, err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close dialed client: %v", err)
	}
	if err := d.Pool("d").Apply(ctx, &n, "double", 5); !errors.Is(err, ErrClosed) {
		t.Fatalf("Apply after Close = %v, want ErrClosed", err)
	}

	// Dial("") uses CORRAL_SOCKET.
	t.Setenv(protocol.EnvSocket, c.Socket())
	d, err = Dial(ctx, "")
	if err != nil {
		t.Fatalf("Dial(\"\"): %v", err)
	}
	d.Close()
}

func TestStartFailures(t *testing.T) {
	needDoubler(t)
	ctx := testCtx(t)
	if _, err := Start(ctx, StartOptions{Bin: filepath.Join(t.TempDir(), "no-corral")}); err == nil {
		t.Fatal("Start of a missing binary succeeded")
	}
	// A program that is not a corral supervisor is refused, and reaped.
	_, err := Start(ctx, StartOptions{Bin: doublerBin, Stderr: &syncBuffer{}})
	if err == nil || !strings.Contains(err.Error(), "supervisor") {
		t.Fatalf("Start of a worker binary = %v", err)
	}
	if _, err := Dial(ctx, filepath.Join(t.TempDir(), "no.sock")); err == nil {
		t.Fatal("Dial of a missing socket succeeded")
	}
}

// Close stops the sidecar and its workers: nothing is left running.
func TestCloseReapsEverything(t *testing.T) {
	needCorral(t)
	ctx := testCtx(t)
	c, err := Start(ctx, StartOptions{Bin: corralBin, Stderr: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	p := helperPool(t, c, "h", protocol.PoolSpec{Workers: 2})
	var pids []int
	for range 4 {
		var pid int
		if err := p.Apply(ctx, &pid, "pid", nil); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	sidecar := c.proc.Pid()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if child.Alive(sidecar) {
		t.Errorf("sidecar %d still alive after Close", sidecar)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for child.Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if child.Alive(pid) {
			t.Errorf("worker %d still alive after Close", pid)
		}
	}
}

// When the sidecar dies, waiting calls fail with ErrClosed instead of
// hanging.
func TestSidecarDeath(t *testing.T) {
	needCorral(t)
	ctx := testCtx(t)
	c, err := Start(ctx, StartOptions{Bin: corralBin, Stderr: &syncBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	p := helperPool(t, c, "h", protocol.PoolSpec{Workers: 1})
	r, err := p.Submit(ctx, "sleep", 30.0)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Get(ctx, nil) }()
	time.Sleep(100 * time.Millisecond)
	c.proc.Kill()
	// A supervisor killed with SIGKILL leaves its socket directory.
	defer os.RemoveAll(filepath.Dir(c.Socket()))
	select {
	case err := <-errc:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Get after the sidecar died = %v, want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get hung after the sidecar died")
	}
	if err := c.Close(); err == nil || !strings.Contains(err.Error(), "signal") {
		t.Fatalf("Close after SIGKILL = %v, want the signal reported", err)
	}
}
