package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/corralhq/corral/spec/conformance"
)

// CheckWorkerCommand runs the conformance cases against a worker executable,
// so that the author of a worker or a shim in any language can prove it
// speaks corral/1.
type CheckWorkerCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses `[--fds] [--cases worker,doubler] [--timeout 5s] -- CMD ARGS…`,
// runs each case against a fresh CMD, prints a PASS or FAIL line per case
// and a summary, and fails unless every case passed.
func (c *CheckWorkerCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("check-worker", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	fds := fs.Bool("fds", false, "speak the protocol on fds 3 and 4 (CORRAL_PROTOCOL_FDS=3,4), not stdin/stdout")
	sets := fs.String("cases", "worker", "comma-separated case `sets` to run: "+strings.Join(conformance.Sets(), ", "))
	timeout := fs.Duration("timeout", conformance.DefaultTimeout, "how long each step may wait for the worker")
	fs.Usage = func() {
		fmt.Fprintf(c.Stderr, "Usage: corral check-worker [flags] -- CMD ARGS…\n\nRun corral/1 conformance cases against a worker, each with a fresh CMD.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2}
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return &exitError{code: 2, err: errors.New("no worker command given")}
	}
	var cases []conformance.Case
	for _, set := range strings.Split(*sets, ",") {
		cs, err := conformance.Cases(strings.TrimSpace(set))
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		cases = append(cases, cs...)
	}
	cmd := conformance.Command{Path: fs.Arg(0), Args: fs.Args()[1:], FDs: *fds}
	// Checked once here, rather than failing every case the same way.
	if _, err := exec.LookPath(cmd.Path); err != nil {
		return &exitError{code: 2, err: err}
	}

	failed := 0
	for _, cs := range cases {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := conformance.RunCommand(ctx, cmd, cs, conformance.Options{Timeout: *timeout})
		fmt.Fprintln(c.Stdout, r)
		if !r.Pass {
			failed++
		}
	}
	fmt.Fprintf(c.Stdout, "%d passed, %d failed\n", len(cases)-failed, failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d cases failed", failed, len(cases))
	}
	return nil
}
