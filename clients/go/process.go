package corral

import (
	"context"
	"fmt"

	"github.com/corralhq/corral/protocol"
)

// Process is a program the supervisor started for this client, like
// multiprocessing.Process.
type Process struct {
	c    *Client
	name string
	pid  int
}

// StartProcess starts a process as spec says; the supervisor names it when
// spec.Name is empty. A command that cannot be started fails with
// ErrSpawnFailed.
func (c *Client) StartProcess(ctx context.Context, spec protocol.ProcessSpec) (*Process, error) {
	var info protocol.ProcessInfo
	if err := c.call(ctx, protocol.MethodProcessStart, spec, &info); err != nil {
		what := spec.Name
		if what == "" {
			what = spec.Command
		}
		return nil, fmt.Errorf("start process %s: %w", what, err)
	}
	return &Process{c: c, name: info.Name, pid: info.Pid}, nil
}

// Process returns a handle on an existing process by name. It does not
// check that it exists, and its Pid is 0.
func (c *Client) Process(name string) *Process {
	return &Process{c: c, name: name}
}

// Processes lists the supervisor's processes.
func (c *Client) Processes(ctx context.Context) ([]protocol.ProcessInfo, error) {
	var res struct {
		Processes []protocol.ProcessInfo `json:"processes"`
	}
	if err := c.call(ctx, protocol.MethodProcessList, struct{}{}, &res); err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	return res.Processes, nil
}

// Name is the supervisor's name for the process.
func (p *Process) Name() string { return p.name }

// Pid is the process id.
func (p *Process) Pid() int { return p.pid }

// Join waits for the process to exit and returns its exit code (minus the
// signal number when a signal ended it). ctx's deadline bounds the wait:
// past it, Join returns an error matching ErrTimeout and the process runs
// on.
func (p *Process) Join(ctx context.Context) (int, error) {
	var info protocol.ProcessInfo
	err := p.c.callWait(ctx, protocol.MethodProcessJoin, protocol.ProcessJoinParams{Name: p.name, Timeout: waitTimeout(ctx)}, &info)
	if err != nil {
		return 0, fmt.Errorf("process %s: join: %w", p.name, err)
	}
	if info.Alive || info.ExitCode == nil {
		return 0, fmt.Errorf("process %s: join: %w", p.name, timeoutError("still running (pid %d)", info.Pid))
	}
	return *info.ExitCode, nil
}

// Status asks the supervisor about the process.
func (p *Process) Status(ctx context.Context) (protocol.ProcessInfo, error) {
	return p.info(ctx, protocol.MethodProcessStatus, "status")
}

// IsAlive reports whether the process is still running.
func (p *Process) IsAlive(ctx context.Context) (bool, error) {
	info, err := p.Status(ctx)
	return info.Alive, err
}

// ExitCode is the process's exit code (minus the signal number when a
// signal ended it), or nil while it runs.
func (p *Process) ExitCode(ctx context.Context) (*int, error) {
	info, err := p.Status(ctx)
	if err != nil || info.Alive {
		return nil, err
	}
	return info.ExitCode, nil
}

// Terminate asks the process to stop (SIGTERM to its process group).
func (p *Process) Terminate(ctx context.Context) error {
	_, err := p.info(ctx, protocol.MethodProcessTerminate, "terminate")
	return err
}

// Kill stops the process with SIGKILL.
func (p *Process) Kill(ctx context.Context) error {
	_, err := p.info(ctx, protocol.MethodProcessKill, "kill")
	return err
}

func (p *Process) info(ctx context.Context, method, verb string) (protocol.ProcessInfo, error) {
	var info protocol.ProcessInfo
	if err := p.c.call(ctx, method, protocol.ProcessRef{Name: p.name}, &info); err != nil {
		return info, fmt.Errorf("process %s: %s: %w", p.name, verb, err)
	}
	return info, nil
}
