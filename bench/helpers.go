package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	corral "github.com/corralhq/corral/clients/go"
)

// echoPeer is the far end of the raw pipe ping-pong: every line read is
// written back at once.
func echoPeer() {
	r := bufio.NewReader(os.Stdin)
	w := bufio.NewWriter(os.Stdout)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		w.Write(line)
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// padWorker serves pad: a 100-byte string per input, so that a stream of a
// million results is about 100 MB.
func padWorker() {
	w := corral.NewWorker("pad")
	tail := strings.Repeat("x", 92)
	corral.Handle(w, "pad", func(_ context.Context, x int) (string, error) {
		return fmt.Sprintf("%08d", x) + tail, nil
	})
	if err := w.Serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// peakRSS reads a process's peak resident set size (VmHWM), in bytes.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
