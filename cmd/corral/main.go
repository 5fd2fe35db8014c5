// Command corral runs work N-wide across processes in any language: a
// supervisor that spawns workers, hands them tasks over JSON-RPC, and hosts
// the state they share.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

const usage = `corral — run work N-wide across processes, in any language

Usage:
  corral serve [--stdio] [--socket PATH] [--config FILE]     run a supervisor
  corral map [-j N] [--mode exec|lines|rpc] -- CMD [ARGS…]  run CMD over inputs N-wide
  corral ctl [--socket PATH] FAMILY OP NAME [ARGS…]          use a shared object (queue, lock, value, …)
  corral ctl with-lock NAME [--timeout S] -- CMD ARGS…       run CMD holding a lock
  corral status [--socket PATH] [--json]                     summarise a running supervisor
  corral check-worker [--cases worker,doubler] -- CMD ARGS…  test a worker executable
  corral version                                             print the version

Run "corral COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = (&ServeCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "map":
		err = (&MapCommand{Stdin: os.Stdin, Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "adapter":
		err = (&AdapterCommand{Stderr: stderr}).Run(ctx, rest)
	case "forked":
		// Not in the usage: run by the Python shim's pools (forked_linux.go).
		err = (&ForkedCommand{Stderr: stderr}).Run(ctx, rest)
	case "ctl":
		err = (&CtlCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "status":
		err = (&StatusCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "check-worker":
		err = (&CheckWorkerCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "version", "--version":
		err = (&VersionCommand{Stdout: stdout}).Run(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "corral: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(stderr, "corral %s: %v\n", cmd, ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "corral %s: %v\n", cmd, err)
	return 1
}
