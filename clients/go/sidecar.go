package corral

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/jsonrpc"
)

// EnvBin names the corral binary Start runs when StartOptions.Bin is empty.
const EnvBin = "CORRAL_BIN"

// How long Close waits for a sidecar to exit after its stdin is closed,
// then how long it gives it between SIGTERM and SIGKILL.
const (
	sidecarExitWait = 15 * time.Second
	sidecarGrace    = 5 * time.Second
	stderrDrainWait = 2 * time.Second
)

// StartOptions say how Start runs the supervisor.
type StartOptions struct {
	// Bin is the corral binary: $CORRAL_BIN when empty, then "corral" in
	// PATH.
	Bin string
	// Config is a corral.toml for --config; none when empty.
	Config string
	// ExtraArgs are appended to "serve --stdio".
	ExtraArgs []string
	// Stderr receives the supervisor's log (os.Stderr when nil).
	Stderr io.Writer
}

// Start runs `corral serve --stdio` as this program's sidecar and greets
// it. The sidecar is in its own process group and reads its requests from
// a pipe this program holds, so it exits when Close closes the pipe or this
// program dies.
func Start(ctx context.Context, opts StartOptions) (*Client, error) {
	bin, err := findBin(opts.Bin)
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--stdio"}
	if opts.Config != "" {
		args = append(args, "--config", opts.Config)
	}
	args = append(args, opts.ExtraArgs...)

	c := newClient()
	// The link carries whole maps: a million items are megabytes each way.
	inR, inW, err := child.LinkPipe(1 << 20)
	if err != nil {
		return nil, err
	}
	outR, outW, err := child.LinkPipe(1 << 20)
	if err != nil {
		child.CloseAll(inR, inW)
		return nil, err
	}
	errW, ownErrW, err := c.stderrFor(opts.Stderr)
	if err != nil {
		child.CloseAll(inR, inW, outR, outW)
		return nil, err
	}
	c.spawner = child.NewSpawner()
	c.proc, err = c.spawner.Start(child.Spec{
		Path: bin, Args: args, Env: os.Environ(),
		Stdin: inR, Stdout: outW, Stderr: errW,
		KillGroupOnExit: true,
	})
	child.CloseAll(inR, outW)
	if ownErrW {
		errW.Close()
	}
	if err != nil {
		child.CloseAll(inW, outR)
		c.spawner.Close()
		c.stopStderr()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	c.conn = jsonrpc.NewConn(outR, inW, closers{outR, inW}, jsonrpc.HandlerFunc(c.handle), jsonrpc.Options{CallerReads: true})
	c.conn.Start()
	if err := c.greet(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("start %s serve --stdio: %w", bin, c.explain(err))
	}
	return c, nil
}

// findBin resolves the corral binary to run.
func findBin(bin string) (string, error) {
	if bin == "" {
		bin = os.Getenv(EnvBin)
	}
	if bin == "" {
		bin = "corral"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", fmt.Errorf("find the corral binary: %w (install corral, or set %s or StartOptions.Bin)", err, EnvBin)
	}
	return path, nil
}

// stderrFor returns the file the sidecar writes its log to. A writer that
// is not a file is fed from a pipe by a goroutine that Close waits for;
// own says the file is that pipe's end, to be closed once the sidecar has
// it.
func (c *Client) stderrFor(w io.Writer) (f *os.File, own bool, err error) {
	switch w := w.(type) {
	case nil:
		return os.Stderr, false, nil
	case *os.File:
		return w, false, nil
	}
	r, pw, err := child.Pipe()
	if err != nil {
		return nil, false, err
	}
	c.errPipe = r
	c.errDone = make(chan struct{})
	go func() {
		defer close(c.errDone)
		if _, err := io.Copy(w, r); err != nil {
			// w failed: keep draining, or the sidecar would block on
			// a full pipe.
			io.Copy(io.Discard, r)
		}
	}()
	return pw, true, nil
}

// stopStderr waits (a little) for the sidecar's log to drain, then stops
// the copy.
func (c *Client) stopStderr() {
	if c.errDone == nil {
		return
	}
	t := time.NewTimer(stderrDrainWait)
	defer t.Stop()
	select {
	case <-c.errDone:
	case <-t.C:
		// A worker the supervisor left behind still holds the pipe.
	}
	c.errPipe.Close()
	<-c.errDone
}

// reapSidecar waits for the sidecar to exit once its stdin is closed,
// stopping it if it lingers, and reports an unclean exit.
func (c *Client) reapSidecar() error {
	t := time.NewTimer(sidecarExitWait)
	select {
	case <-c.proc.Done():
	case <-t.C:
		c.proc.Stop(sidecarGrace)
	}
	t.Stop()
	exit := c.proc.Exit()
	c.spawner.Close()
	c.stopStderr()
	if exit.Err != nil || exit.Code != 0 || exit.Signal != 0 {
		return fmt.Errorf("close: corral serve %s", exit)
	}
	return nil
}
