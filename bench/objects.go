package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/corralhq/corral/protocol"
)

// benchObjects times shared-object round trips from one Go client, one
// after another, beside the same operations on Python's
// multiprocessing.Manager() proxies.
func benchObjects(ctx context.Context, cfg config) error {
	n := 20000
	if cfg.quick {
		n = 2000
	}
	c, err := startCorral(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.CreateObject(ctx, "value", "v", &protocol.ObjectParams{Typecode: "i"}); err != nil {
		return err
	}
	q, l, v := c.Queue("q"), c.Lock("l"), c.Value("v")
	rate := func(f func() error) (float64, error) {
		for range n / 10 { // warm up
			if err := f(); err != nil {
				return 0, err
			}
		}
		t := time.Now()
		for range n {
			if err := f(); err != nil {
				return 0, err
			}
		}
		return float64(n) / since(t), nil
	}
	var item int
	qr, err := rate(func() error {
		if err := q.Put(ctx, 1); err != nil {
			return err
		}
		return q.Get(ctx, &item)
	})
	if err != nil {
		return err
	}
	lr, err := rate(func() error {
		if _, err := l.Acquire(ctx); err != nil {
			return err
		}
		return l.Release(ctx)
	})
	if err != nil {
		return err
	}
	vr, err := rate(func() error { return v.Add(ctx, 1, nil) })
	if err != nil {
		return err
	}
	fmt.Printf("shared objects, one Go client, sequential (%d each)\n", n)
	peer, perr := pythonManager(cfg, n)
	row := func(what string, ours float64, key string) {
		fmt.Printf("  %-28s corral %8.0f/s", what, ours)
		if p, ok := peer[key]; ok && perr == nil {
			fmt.Printf("   Manager %8.0f/s   ratio %.2fx (target ≥ 4x)", p, ours/p)
		}
		fmt.Println()
	}
	row("queue put+get pairs", qr, "queue")
	row("lock acquire+release pairs", lr, "lock")
	row("value add", vr, "value")
	if perr != nil {
		fmt.Printf("  Manager peer: skipped (%v)\n", perr)
	}
	return nil
}

const managerPy = `
import multiprocessing, sys, time

if __name__ == "__main__":
    n = int(sys.argv[1])
    with multiprocessing.Manager() as m:
        q, l, v = m.Queue(), m.Lock(), m.Value("i", 0)
        def rate(f):
            for _ in range(n // 10):
                f()
            t = time.perf_counter()
            for _ in range(n):
                f()
            return n / (time.perf_counter() - t)
        def qpair():
            q.put(1); q.get()
        def lpair():
            l.acquire(); l.release()
        def vadd():
            v.value += 1
        print("queue", rate(qpair))
        print("lock", rate(lpair))
        print("value", rate(vadd))
`

// pythonManager runs the Manager peer and returns its rates by name.
func pythonManager(cfg config, n int) (map[string]float64, error) {
	if cfg.python == "" {
		return nil, fmt.Errorf("no python3")
	}
	dir, err := os.MkdirTemp("", "corral-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "manager.py")
	if err := os.WriteFile(script, []byte(managerPy), 0o644); err != nil {
		return nil, err
	}
	out, err := exec.Command(cfg.python, script, strconv.Itoa(n)).Output()
	if err != nil {
		return nil, fmt.Errorf("python: %w", err)
	}
	rates := map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			rates[k] = f
		}
	}
	return rates, nil
}
