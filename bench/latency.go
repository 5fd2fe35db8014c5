package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/corralhq/corral/protocol"
)

// benchLatency compares one trivial task's round trip (client → supervisor
// → worker → back) with a raw two-process pipe ping-pong of one JSON line.
func benchLatency(ctx context.Context, cfg config, pinned bool) error {
	n := 20000
	if cfg.quick {
		n = 1000
	}
	raw, err := pingPong(n)
	if err != nil {
		return fmt.Errorf("ping-pong: %w", err)
	}
	c, err := startCorral(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	p, err := c.CreatePool(ctx, protocol.PoolSpec{Name: "lat", Command: cfg.doubler, Workers: 1})
	if err != nil {
		return err
	}
	var out int
	for i := 0; i < n/10; i++ { // warm up
		if err := p.Apply(ctx, &out, "double", i); err != nil {
			return err
		}
	}
	rt := make([]time.Duration, n)
	for i := range rt {
		t := time.Now()
		if err := p.Apply(ctx, &out, "double", i); err != nil {
			return err
		}
		rt[i] = time.Since(t)
	}
	mode := "unpinned"
	if pinned {
		mode = "pinned to one CPU"
	}
	rp50, rp99 := percentiles(raw)
	cp50, cp99 := percentiles(rt)
	fmt.Printf("latency (%s, %d round trips each)\n", mode, n)
	fmt.Printf("  raw pipe ping-pong, one JSON line:   p50 %8v  p99 %8v\n", rp50, rp99)
	fmt.Printf("  corral pool.apply, Go client+worker: p50 %8v  p99 %8v\n", cp50, cp99)
	fmt.Printf("  ratio p50 corral/raw: %.2fx (target ≤ 3x)\n", float64(cp50)/float64(rp50))
	return nil
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2].Round(100 * time.Nanosecond), s[len(s)*99/100].Round(100 * time.Nanosecond)
}

// pingPong times n round trips of a task-sized JSON line through a child
// that echoes it.
func pingPong(n int) ([]time.Duration, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "echo-peer")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer cmd.Wait()
	defer in.Close()
	r := bufio.NewReader(outp)
	line := []byte(`{"jsonrpc":"2.0","id":1,"method":"task.run","params":{"task":"t-1","fn":"double","args":[5]}}` + "\n")
	rt := make([]time.Duration, n)
	for i := -n / 10; i < n; i++ {
		t := time.Now()
		if _, err := in.Write(line); err != nil {
			return nil, err
		}
		if _, err := r.ReadBytes('\n'); err != nil {
			return nil, err
		}
		if i >= 0 {
			rt[i] = time.Since(t)
		}
	}
	return rt, nil
}
