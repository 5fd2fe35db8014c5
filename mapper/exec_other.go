//go:build !linux

package mapper

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/corralhq/corral/child"
)

// execOnce runs the command once, capturing its output.
func (r *run) execOnce(args, env []string) *execJob {
	j := &execJob{}
	j.entry.start = time.Now()
	fail := func(msg string) *execJob {
		j.entry.failed, j.entry.exit, j.msg = true, -1, msg
		j.entry.runtime = time.Since(j.entry.start)
		return j
	}
	outR, outW, err := child.Pipe()
	if err != nil {
		return fail(err.Error())
	}
	errR, errW, err := child.Pipe()
	if err != nil {
		child.CloseAll(outR, outW)
		return fail(err.Error())
	}
	p, err := r.sp.Start(child.Spec{
		Path: r.path, Args: args, Env: env, Dir: r.opts.Dir,
		Stdout: outW, Stderr: errW, KillGroupOnExit: true,
	})
	child.CloseAll(outW, errW)
	if err != nil {
		child.CloseAll(outR, errR)
		if errors.Is(err, syscall.E2BIG) {
			return fail("the input is too long for a command-line argument (Linux allows 128 KiB per argument); use --mode lines, or read the input from stdin")
		}
		return fail(fmt.Sprintf("start %s: %v", r.opts.Command, err))
	}
	var stop *time.Timer
	var timedOut bool
	var mu sync.Mutex
	kill := func(why bool) {
		mu.Lock()
		timedOut = timedOut || why
		mu.Unlock()
		p.Stop(r.opts.Grace)
	}
	if r.opts.Timeout > 0 {
		stop = time.AfterFunc(r.opts.Timeout, func() { kill(true) })
	}
	cancelled := context.AfterFunc(r.jobs, func() { kill(false) })
	var wg sync.WaitGroup
	wg.Go(func() { j.stderr.ReadFrom(errR) })
	j.stdout.ReadFrom(outR)
	wg.Wait()
	child.CloseAll(outR, errR)
	ex := p.Exit()
	cancelled()
	if stop != nil {
		stop.Stop()
	}
	j.entry.runtime = time.Since(j.entry.start)
	j.entry.recv = j.stdout.Len()
	j.entry.exit = ex.Code
	j.entry.signal = int(ex.Signal)
	if ex.Signal != 0 {
		j.entry.exit = -1
	}
	mu.Lock()
	defer mu.Unlock()
	switch {
	case timedOut:
		j.entry.failed = true
		j.msg = fmt.Sprintf("timed out after %s; stopped", r.opts.Timeout)
	case ex.Code != 0 || ex.Signal != 0:
		j.entry.failed = true
	}
	return j
}
