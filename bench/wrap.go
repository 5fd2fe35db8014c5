package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	corral "github.com/corralhq/corral/clients/go"
)

// benchWrap runs `corral map` over existing commands beside the tools people
// use for that today: xargs -P and GNU parallel. Every contender reads the
// same input file and its output is checked, so a fast wrong answer fails
// the part instead of winning it.
func benchWrap(ctx context.Context, cfg config) error {
	reps := 5
	if cfg.quick {
		reps = 2
	}
	dir, err := os.MkdirTemp("", "corral-bench-wrap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	w := wrapBench{cfg: cfg, dir: dir, reps: reps, env: envWithout(os.Environ(), "PYTHONUNBUFFERED")}
	if w.parallel, err = gnuParallel(); err != nil {
		fmt.Printf("wrap: GNU parallel missing (%v); its ratios are skipped\n", err)
	}
	if w.xargs, err = exec.LookPath("xargs"); err != nil {
		fmt.Printf("wrap: xargs missing (%v); its ratio is skipped\n", err)
	}
	if err := w.exec(ctx); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if err := w.lines(ctx); err != nil {
		return fmt.Errorf("lines: %w", err)
	}
	if err := w.rpc(ctx); err != nil {
		return fmt.Errorf("rpc: %w", err)
	}
	return nil
}

type wrapBench struct {
	cfg      config
	dir      string
	reps     int
	env      []string // the caller's environment without PYTHONUNBUFFERED
	parallel string   // "" when GNU parallel is missing
	xargs    string   // "" when xargs is missing
}

// contender is one command line measured on one input.
type contender struct {
	label string
	argv  []string
	env   []string
	check func(out []byte) error
	secs  []float64
	// hangLimit, when set, is how long a run may take before it is
	// counted as hung and killed, and the measurement goes on without it.
	hangLimit time.Duration
	hangs     int
}

var errHung = errors.New("hung")

func (c *contender) median() float64 { return median(c.secs) }

const (
	execJobs   = 2_000
	filterRows = 200_000
	awkUpper   = `{print toupper($0)}`
	pyUpper    = "import sys\nfor l in sys.stdin: sys.stdout.write(l.upper())"
)

func (w *wrapBench) exec(ctx context.Context) error {
	var in bytes.Buffer
	for i := range execJobs {
		fmt.Fprintf(&in, "arg-%05d\n", i)
	}
	input, err := w.write("exec.in", in.Bytes())
	if err != nil {
		return err
	}
	check := sameLines(in.Bytes()) // without -k: any order, each line once
	corralC := &contender{label: "corral map -j2", argv: []string{w.cfg.corral, "map", "-j2", "--", "sh", "-c", "echo $0"}, check: check}
	cs := []*contender{corralC}
	var xargsC, parallelC *contender
	if w.xargs != "" {
		xargsC = &contender{label: "xargs -P2 -n1", argv: []string{w.xargs, "-P2", "-n1", "sh", "-c", "echo $0"}, check: check}
		cs = append(cs, xargsC)
	}
	if w.parallel != "" {
		parallelC = &contender{label: "parallel -j2", argv: []string{w.parallel, "--will-cite", "-j2", "sh", "-c", "'echo $0'"}, check: check}
		cs = append(cs, parallelC)
	}
	if err := w.measure(ctx, input, cs); err != nil {
		return err
	}
	fmt.Printf("wrap exec: %d jobs of sh -c 'echo $0' ARG, -j2 (median of %d)\n", execJobs, w.reps)
	for _, c := range cs {
		fmt.Printf("  %-44s %6.3f s  %9.0f jobs/s\n", c.label+":", c.median(), execJobs/c.median())
	}
	printRatio("corral/xargs", corralC, xargsC, 0.9)
	printRatio("corral/parallel", corralC, parallelC, 4)
	return nil
}

func (w *wrapBench) lines(ctx context.Context) error {
	var in bytes.Buffer
	for i := range filterRows {
		fmt.Fprintf(&in, "Line %06d of the wrap bench: Mixed Case, ASCII only\n", i)
	}
	input, err := w.write("lines.in", in.Bytes())
	if err != nil {
		return err
	}
	want := bytes.ToUpper(in.Bytes()) // ASCII: every filter agrees

	awk, err := exec.LookPath("awk")
	if err != nil {
		fmt.Printf("wrap lines: awk missing (%v); skipped\n", err)
	} else {
		if err := w.filter(ctx, input, "awk '{print toupper($0)}'", []string{awk, awkUpper}, shellQuoteArgs(awk, awkUpper), want, false); err != nil {
			return fmt.Errorf("awk: %w", err)
		}
	}
	if w.cfg.python == "" {
		fmt.Println("wrap lines: python3 missing; skipped")
		return nil
	}
	py := []string{w.cfg.python, "-c", pyUpper}
	if err := w.filter(ctx, input, "python3 -c '…l.upper()'", py, shellQuoteArgs(py...), want, true); err != nil {
		return fmt.Errorf("python3: %w", err)
	}
	return nil
}

// filter measures one lines-mode filter: corral map --mode lines -j2 -k
// beside parallel --pipe -j2 -k. For Python it also runs corral with
// PYTHONUNBUFFERED set empty, which turns off the unbuffered output corral
// gives its jobs by default, to show what that costs.
func (w *wrapBench) filter(ctx context.Context, input, name string, argv []string, shellCmd string, want []byte, python bool) error {
	check := exactly(want)
	corralArgv := append([]string{w.cfg.corral, "map", "--mode", "lines", "-j2", "-k", "--"}, argv...)
	corralC := &contender{label: "corral map --mode lines -j2 -k", argv: corralArgv, check: check}
	cs := []*contender{corralC}
	var bufferedC, parallelC *contender
	if python {
		corralC.label += " (unbuffered)"
		// Block-buffered, the filter can sit on answers corral waits for
		// before it sends more input: count such runs, don't wait them out.
		bufferedC = &contender{label: "corral map, PYTHONUNBUFFERED=''", argv: corralArgv, env: []string{"PYTHONUNBUFFERED="}, check: check, hangLimit: 10 * time.Second}
		cs = append(cs, bufferedC)
	}
	if w.parallel != "" {
		parallelC = &contender{label: "parallel --pipe -j2 -k", argv: []string{w.parallel, "--will-cite", "--pipe", "-j2", "-k", shellCmd}, check: check}
		cs = append(cs, parallelC)
	}
	if err := w.measure(ctx, input, cs); err != nil {
		return err
	}
	fmt.Printf("wrap lines: %d lines through the upper-case filter %s, -j2 -k, output checked (median of %d)\n", filterRows, name, w.reps)
	for _, c := range cs {
		if len(c.secs) > 0 {
			fmt.Printf("  %-44s %6.3f s  %9.0f lines/s\n", c.label+":", c.median(), filterRows/c.median())
		}
		if c.hangs > 0 {
			fmt.Printf("  %-44s hung in %d of %d runs (killed after %s; block-buffered output)\n", c.label+":", c.hangs, w.reps, c.hangLimit)
		}
	}
	printRatio("corral/parallel", corralC, parallelC, 1.5)
	if bufferedC != nil {
		printRatio("corral PYTHONUNBUFFERED=''/parallel", bufferedC, parallelC, 1.5)
	}
	return nil
}

func (w *wrapBench) rpc(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var in bytes.Buffer
	for i := range filterRows {
		fmt.Fprintf(&in, "input %06d for the upper worker\n", i)
	}
	input, err := w.write("rpc.in", in.Bytes())
	if err != nil {
		return err
	}
	c := &contender{
		label: "corral map --mode rpc -j2 -k",
		argv:  []string{w.cfg.corral, "map", "--mode", "rpc", "-j2", "-k", "--", self, "upper-worker"},
		check: exactly(bytes.ToUpper(in.Bytes())),
	}
	if err := w.measure(ctx, input, []*contender{c}); err != nil {
		return err
	}
	fmt.Printf("wrap rpc: %d inputs to a Go worker's upper(string), -j2 -k, output checked (median of %d)\n", filterRows, w.reps)
	fmt.Printf("  %-44s %6.3f s  %9.0f lines/s\n", c.label+":", c.median(), filterRows/c.median())
	return nil
}

// measure runs every contender reps times, taking turns and reversing the
// order each round, so that noise on the machine hits all of them alike.
func (w *wrapBench) measure(ctx context.Context, input string, cs []*contender) error {
	for rep := range w.reps {
		order := slices.Clone(cs)
		if rep%2 == 1 {
			slices.Reverse(order)
		}
		for _, c := range order {
			secs, err := w.run(ctx, input, c)
			if errors.Is(err, errHung) {
				c.hangs++
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %w", c.label, err)
			}
			c.secs = append(c.secs, secs)
		}
	}
	return nil
}

// run times one command from start to exit, stdin from the input file and
// stdout collected, then checks what it printed.
func (w *wrapBench) run(ctx context.Context, input string, c *contender) (float64, error) {
	limit := 5 * time.Minute
	if c.hangLimit > 0 {
		limit = c.hangLimit
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	f, err := os.Open(input)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var stdout, stderr bytes.Buffer
	stdout.Grow(16 << 20)
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Env = append(slices.Clip(w.env), c.env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = f, &stdout, &stderr
	t := time.Now()
	err = cmd.Run()
	secs := since(t)
	if err != nil && c.hangLimit > 0 && ctx.Err() != nil {
		return 0, errHung
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %s", err, clipBytes(stderr.Bytes()))
	}
	if err := c.check(stdout.Bytes()); err != nil {
		return 0, fmt.Errorf("wrong output: %w", err)
	}
	return secs, nil
}

func (w *wrapBench) write(name string, b []byte) (string, error) {
	path := filepath.Join(w.dir, name)
	return path, os.WriteFile(path, b, 0o644)
}

// printRatio prints peer time over corral time (how many times faster
// corral is), or that the peer was missing.
func printRatio(name string, corralC, peer *contender, target float64) {
	if peer == nil {
		fmt.Printf("  ratio %s: skipped (peer missing)\n", name)
		return
	}
	if len(corralC.secs) == 0 {
		fmt.Printf("  ratio %s: skipped (no run finished)\n", name)
		return
	}
	r := peer.median() / corralC.median()
	mark := ""
	if r < target {
		mark = "  BELOW TARGET"
	}
	fmt.Printf("  ratio %s: %.2fx (target ≥ %g)%s\n", name, r, target, mark)
}

// exactly checks that the output is want, byte for byte and in order.
func exactly(want []byte) func([]byte) error {
	return func(out []byte) error {
		if bytes.Equal(out, want) {
			return nil
		}
		got, exp := bytes.SplitAfter(out, []byte("\n")), bytes.SplitAfter(want, []byte("\n"))
		for i := range min(len(got), len(exp)) {
			if !bytes.Equal(got[i], exp[i]) {
				return fmt.Errorf("line %d is %q, want %q", i+1, got[i], exp[i])
			}
		}
		return fmt.Errorf("%d lines, want %d", len(got), len(exp))
	}
}

// sameLines checks that the output has the lines of want, in any order.
func sameLines(want []byte) func([]byte) error {
	exp := sortedLines(want)
	return func(out []byte) error {
		got := sortedLines(out)
		if len(got) != len(exp) {
			return fmt.Errorf("%d lines, want %d", len(got), len(exp))
		}
		for i := range got {
			if got[i] != exp[i] {
				return fmt.Errorf("line %q where %q was expected (sorted)", got[i], exp[i])
			}
		}
		return nil
	}
}

func sortedLines(b []byte) []string {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(lines)
	return lines
}

// gnuParallel finds GNU parallel (not moreutils' parallel, which takes
// other flags).
func gnuParallel() (string, error) {
	path, err := exec.LookPath("parallel")
	if err != nil {
		return "", err
	}
	out, err := exec.Command(path, "--will-cite", "--version").Output()
	if err != nil || !bytes.Contains(out, []byte("GNU parallel")) {
		return "", fmt.Errorf("%s is not GNU parallel", path)
	}
	return path, nil
}

func envWithout(env []string, key string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, key+"=")
	})
}

// shellQuoteArgs joins argv into one shell command line, which is how
// parallel --pipe takes its command.
func shellQuoteArgs(argv ...string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func clipBytes(b []byte) string {
	if len(b) > 400 {
		b = append(b[:400:400], "…"...)
	}
	return strings.TrimSpace(string(b))
}

// upperWorker serves upper: its string argument in upper case. It is the
// rpc-mode worker for the wrap part (the doubler takes ints, and corral
// map passes each input line as a string).
func upperWorker() {
	w := corral.NewWorker("upper")
	corral.Handle(w, "upper", func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s), nil
	})
	if err := w.Serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
