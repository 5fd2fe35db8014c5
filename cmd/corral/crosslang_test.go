package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corral "github.com/corralhq/corral/clients/go"
	"github.com/corralhq/corral/protocol"
)

// shimWorkerEnv makes the test binary a Go-shim worker serving "bump": it
// dials the supervisor from inside the task, as any worker may through
// $CORRAL_SOCKET, and adds to a shared counter n times.
const shimWorkerEnv = "CORRAL_CMD_TEST_SHIM_WORKER"

func runShimWorker() {
	w := corral.NewWorker("bumper")
	var once sync.Once
	var c *corral.Client
	var dialErr error
	corral.Handle(w, "bump", func(ctx context.Context, n int) (int, error) {
		once.Do(func() { c, dialErr = corral.Dial(ctx, "") })
		if dialErr != nil {
			return 0, dialErr
		}
		for range n {
			if err := c.Value("counter").Add(ctx, 1, nil); err != nil {
				return 0, err
			}
		}
		return n, nil
	})
	err := w.Serve(context.Background())
	if c != nil {
		c.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// Go workers (through the Go shim) and bash processes (through corral ctl)
// hammer one shared counter at once; the total is exact.
func TestCounterAcrossGoWorkersAndBash(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "c.sock")
	cmd := exec.Command(corralBin, "serve", "--log-level", "warn", "--socket", sock)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	dialWhenUp(t, sock)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := corral.Dial(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.CreateObject(ctx, "value", "counter", &protocol.ObjectParams{Typecode: "i"}); err != nil {
		t.Fatal(err)
	}
	pool, err := c.CreatePool(ctx, protocol.PoolSpec{Name: "go", Command: exe, Args: []string{"-test.run=^$"}, Workers: 4,
		Env: map[string]string{shimWorkerEnv: "1", "GORACE": "atexit_sleep_ms=0"}})
	if err != nil {
		t.Fatal(err)
	}
	const goTasks, perTask, bashProcs, perBash = 8, 50, 4, 25
	errs := make(chan error, bashProcs+1)
	go func() {
		items := make([]int, goTasks)
		for i := range items {
			items[i] = perTask
		}
		_, err := corral.Map[int](ctx, pool, "bump", items, corral.Chunksize(1))
		errs <- err
	}()
	for range bashProcs {
		go func() {
			sh := exec.Command("bash", "-euo", "pipefail", "-c",
				fmt.Sprintf(`for i in $(seq %d); do %q ctl value add counter 1 >/dev/null; done`, perBash, corralBin))
			sh.Env = append(os.Environ(), protocol.EnvSocket+"="+sock)
			out, err := sh.CombinedOutput()
			if err != nil {
				err = fmt.Errorf("bash: %v: %s", err, out)
			}
			errs <- err
		}()
	}
	for range bashProcs + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(corralBin, "ctl", "--socket", sock, "value", "get", "counter").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), fmt.Sprint(goTasks*perTask+bashProcs*perBash); got != want {
		t.Fatalf("counter = %s, want %s", got, want)
	}
}
