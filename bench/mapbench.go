package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corral "github.com/corralhq/corral/clients/go"
	"github.com/corralhq/corral/protocol"
)

// benchMap maps 1,000,000 trivial items over 2 Go workers, next to
// multiprocessing.Pool(2).map doing the same in Python.
func benchMap(ctx context.Context, cfg config) error {
	const n = 1_000_000
	reps := 7
	if cfg.quick {
		reps = 1
	}
	c, err := startCorral(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.CreatePool(ctx, protocol.PoolSpec{Name: "map", Command: cfg.doubler, Workers: 2})
	if err != nil {
		return err
	}
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	if _, err := corral.Map[int](ctx, p, "double", items[:10000]); err != nil {
		return err
	}
	var rates []float64
	for range reps {
		t := time.Now()
		out, err := corral.Map[int](ctx, p, "double", items)
		if err != nil {
			return err
		}
		rates = append(rates, n/since(t))
		if len(out) != n || out[n-1] != 2*(n-1) {
			return fmt.Errorf("wrong results")
		}
	}
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	rss, err := peakRSS(st.Pid)
	if err != nil {
		return err
	}
	fmt.Printf("map of %d ints, 2 workers (median of %d)\n", n, reps)
	fmt.Printf("  corral Map, Go client + Go workers:   %6.2f M items/s (target ≥ 5)\n", median(rates)/1e6)
	peer, err := pythonPoolMap(cfg, n, reps)
	if err != nil {
		fmt.Printf("  multiprocessing.Pool(2).map: skipped (%v)\n", err)
	} else {
		fmt.Printf("  multiprocessing.Pool(2).map, Python:  %6.2f M items/s\n", peer/1e6)
		fmt.Printf("  ratio corral/multiprocessing: %.2fx\n", median(rates)/peer)
	}
	fmt.Printf("  supervisor peak RSS: %s\n", mib(rss))
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

const poolMapPy = `
import multiprocessing, sys, time

def double(x):
    return 2 * x

if __name__ == "__main__":
    n, reps = int(sys.argv[1]), int(sys.argv[2])
    xs = list(range(n))
    with multiprocessing.Pool(2) as p:
        p.map(double, xs[:10000])
        rates = []
        for _ in range(reps):
            t = time.perf_counter()
            out = p.map(double, xs)
            rates.append(n / (time.perf_counter() - t))
        assert out[-1] == 2 * (n - 1)
    rates.sort()
    print(rates[len(rates) // 2])
`

// pythonPoolMap runs the peer and returns its median items/s.
func pythonPoolMap(cfg config, n, reps int) (float64, error) {
	if cfg.python == "" {
		return 0, fmt.Errorf("no python3")
	}
	dir, err := os.MkdirTemp("", "corral-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "poolmap.py")
	if err := os.WriteFile(script, []byte(poolMapPy), 0o644); err != nil {
		return 0, err
	}
	out, err := exec.Command(cfg.python, script, strconv.Itoa(n), strconv.Itoa(reps)).Output()
	if err != nil {
		return 0, fmt.Errorf("python: %w", err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}
