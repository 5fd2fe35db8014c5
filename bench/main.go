// Command bench measures corral side by side with its peers in one run and
// prints ratios. Figures from different runs are not comparable on shared
// machines; ratios from one run are.
//
//	make bench                      # everything
//	go run ./bench -only latency    # one part
//
// It needs bin/corral and bin/doubler-go (make build) and, for the Python
// peer, python3.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	corral "github.com/corralhq/corral/clients/go"
)

type config struct {
	corral  string
	doubler string
	python  string
	quick   bool
}

func main() {
	// Re-executed as a helper process: an echo peer or a worker.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "echo-peer":
			echoPeer()
			return
		case "pad-worker":
			padWorker()
			return
		case "upper-worker":
			upperWorker()
			return
		}
	}
	only := flag.String("only", "latency,map,stream,objects,wrap", "comma-separated parts to run: latency, map, stream, objects, wrap")
	cfg := config{}
	flag.StringVar(&cfg.corral, "corral", envOr("CORRAL_BIN", "bin/corral"), "corral `binary`")
	flag.StringVar(&cfg.doubler, "doubler", "bin/doubler-go", "doubler worker `binary`")
	flag.StringVar(&cfg.python, "python", "", "python3 `interpreter` for the multiprocessing peer (default: the real one behind python3)")
	flag.BoolVar(&cfg.quick, "quick", false, "fewer iterations (a smoke run, not a measurement)")
	pinned := flag.Bool("pinned", false, "(internal) this run is pinned to one CPU")
	flag.Parse()
	if err := cfg.resolve(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	parts := strings.Split(*only, ",")
	ctx := context.Background()
	failed := false
	for _, part := range parts {
		var err error
		switch part {
		case "latency":
			err = benchLatency(ctx, cfg, *pinned)
			if err == nil && !*pinned {
				err = rerunPinned(cfg)
			}
		case "map":
			err = benchMap(ctx, cfg)
		case "stream":
			err = benchStream(ctx, cfg)
		case "objects":
			err = benchObjects(ctx, cfg)
		case "wrap":
			err = benchWrap(ctx, cfg)
		default:
			err = fmt.Errorf("unknown part %q", part)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", part, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func (c *config) resolve() error {
	for _, p := range []*string{&c.corral, &c.doubler} {
		path, err := exec.LookPath(*p)
		if err != nil {
			return fmt.Errorf("%s not found (run make build): %w", *p, err)
		}
		*p = path
	}
	if c.python == "" {
		// python3 on PATH may be a shim script that costs tens of
		// milliseconds a start; ask it for the real interpreter.
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err == nil {
			c.python = strings.TrimSpace(string(out))
		}
	}
	return nil
}

// rerunPinned runs the latency part again under taskset -c 0, so that
// every process shares one CPU: round trips then cost context switches
// rather than cross-CPU wake-ups, and the two setups bracket the truth.
func rerunPinned(cfg config) error {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		fmt.Println("latency pinned: skipped (no taskset)")
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	args := []string{"-c", "0", self, "-only", "latency", "-pinned", "-corral", cfg.corral, "-doubler", cfg.doubler}
	if cfg.quick {
		args = append(args, "-quick")
	}
	cmd := exec.Command(taskset, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	return cmd.Run()
}

// startCorral starts a sidecar supervisor for one measurement.
func startCorral(ctx context.Context, cfg config) (*corral.Client, error) {
	return corral.Start(ctx, corral.StartOptions{Bin: cfg.corral, ExtraArgs: []string{"--log-level", "warn"}})
}

func since(t time.Time) float64 { return time.Since(t).Seconds() }
