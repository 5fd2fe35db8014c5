package supervisor

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/corralhq/corral/child"
	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/pipes"
	"github.com/corralhq/corral/protocol"
)

// Process is a command started on request, as multiprocessing.Process: it
// runs once, its output goes to the log under its name, and its exit code
// is kept for whoever asks.
type Process struct {
	s    *Supervisor
	seq  int
	name string
	spec protocol.ProcessSpec
	proc *child.Proc
	log  zerolog.Logger
	wg   sync.WaitGroup // output forwarders
}

func (c *client) handleProcessStart(req *jsonrpc.Request) (any, error) {
	var spec protocol.ProcessSpec
	if err := protocol.Decode(req.Params, &spec); err != nil {
		return nil, err
	}
	if err := protocol.Required("command", spec.Command == ""); err != nil {
		return nil, err
	}
	if err := validateOutput(&spec.Output); err != nil {
		return nil, err
	}
	p, err := c.s.startProcess(spec)
	if err != nil {
		return nil, err
	}
	return p.info(), nil
}

func (s *Supervisor) startProcess(spec protocol.ProcessSpec) (*Process, error) {
	s.mu.Lock()
	if s.closing || s.draining {
		s.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeClosed, "the supervisor is shutting down")
	}
	s.procSeq++
	seq := s.procSeq
	if spec.Name == "" {
		// multiprocessing names its children Process-1, Process-2, …
		spec.Name = "Process-" + strconv.Itoa(seq)
	}
	if err := ValidateName(spec.Name); err != nil {
		s.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: field \"name\": %v", err)
	}
	if old, ok := s.procs[spec.Name]; ok && old.running() {
		s.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeConflict, "a process named %q is running or starting", spec.Name)
	}
	p := &Process{s: s, seq: seq, name: spec.Name, spec: spec}
	p.log = s.log.With().Str("process", spec.Name).Logger()
	s.procs[spec.Name] = p // reserve the name while starting
	s.mu.Unlock()

	fail := func(err error) (*Process, error) {
		s.mu.Lock()
		if s.procs[spec.Name] == p {
			delete(s.procs, spec.Name)
		}
		s.mu.Unlock()
		return nil, protocol.ErrorWith(protocol.CodeSpawnFailed,
			fmt.Sprintf("cannot start process %s: %v", spec.Name, err), protocol.ErrorData{Worker: spec.Name})
	}
	var outR, outW, errR, errW *os.File
	if spec.Output == protocol.OutputInherit {
		outW, errW = s.childOut, s.childErr
	} else {
		var err error
		if outR, outW, err = child.Pipe(); err != nil {
			return fail(err)
		}
		if errR, errW, err = child.Pipe(); err != nil {
			child.CloseAll(outR, outW)
			return fail(err)
		}
	}
	proc, err := s.spawner.Start(child.Spec{
		Path: spec.Command, Args: spec.Args, Dir: spec.Cwd,
		Env:    s.childEnv(spec.Env, protocol.EnvWorkerName+"="+spec.Name),
		Stdout: outW, Stderr: errW,
	})
	if outR != nil {
		child.CloseAll(outW, errW)
	}
	if err != nil {
		if outR != nil {
			child.CloseAll(outR, errR)
		}
		return fail(err)
	}
	p.proc = proc
	p.log = p.log.With().Int("pid", proc.Pid()).Logger()
	for _, f := range []struct {
		r   *os.File
		msg string
	}{{outR, "process stdout"}, {errR, "process stderr"}} {
		if f.r == nil {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			pipes.ForwardLines(f.r, p.log, f.msg)
			f.r.Close()
		}()
	}
	s.goFunc(func() {
		<-proc.Done()
		p.wg.Wait()
		p.log.Info().Str("exit", proc.Exit().String()).Msg("process exited")
	})
	p.log.Info().Str("command", spec.Command).Msg("process started")
	return p, nil
}

// running reports whether the process is starting or has not exited.
func (p *Process) running() bool {
	if p.proc == nil {
		return true // its start is under way
	}
	select {
	case <-p.proc.Done():
		return false
	default:
		return true
	}
}

func (p *Process) info() protocol.ProcessInfo {
	info := protocol.ProcessInfo{Name: p.name, Command: p.spec.Command}
	if p.proc == nil {
		return info
	}
	info.Pid = p.proc.Pid()
	select {
	case <-p.proc.Done():
		code := p.proc.Exit().ExitCode()
		info.ExitCode = &code
	default:
		info.Alive = true
	}
	return info
}

// stop ends the process at supervisor shutdown.
func (p *Process) stop() {
	if p.proc != nil {
		p.proc.Stop(DefaultStopGrace)
	}
}

func (c *client) process(req *jsonrpc.Request) (*Process, error) {
	var ref protocol.ProcessRef
	if err := protocol.Decode(req.Params, &ref); err != nil {
		return nil, err
	}
	return c.s.lookupProcess(ref.Name)
}

func (s *Supervisor) lookupProcess(name string) (*Process, error) {
	if name == "" {
		return nil, protocol.Required("name", true)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[name]
	if !ok || p.proc == nil {
		return nil, protocol.Errorf(protocol.CodeNotFound, "no process named %q", name)
	}
	return p, nil
}

func (c *client) handleProcessStatus(req *jsonrpc.Request) (any, error) {
	p, err := c.process(req)
	if err != nil {
		return nil, err
	}
	return p.info(), nil
}

// handleProcessJoin answers when the process exits or the timeout passes;
// after a timeout the answer says alive, as Process.join(timeout) returns.
func (c *client) handleProcessJoin(req *jsonrpc.Request) (any, error) {
	var params protocol.ProcessJoinParams
	if err := protocol.Decode(req.Params, &params); err != nil {
		return nil, err
	}
	p, err := c.s.lookupProcess(params.Name)
	if err != nil {
		return nil, err
	}
	select {
	case <-p.proc.Done():
		return p.info(), nil
	default:
	}
	c.awaitThen(p.proc.Done(), params.Timeout, func(bool) { c.reply(req.ID, p.info(), nil) })
	return nil, jsonrpc.ErrAsync
}

func (c *client) signalProcess(req *jsonrpc.Request, sig syscall.Signal) (any, error) {
	p, err := c.process(req)
	if err != nil {
		return nil, err
	}
	if err := p.proc.Signal(sig); err != nil {
		return nil, protocol.Errorf(protocol.CodeInternalError, "signal process %s: %v", p.name, err)
	}
	p.log.Info().Str("signal", child.SignalName(sig)).Str("by", c.describe()).Msg("process signalled")
	return p.info(), nil
}

func (c *client) handleProcessTerminate(req *jsonrpc.Request) (any, error) {
	return c.signalProcess(req, syscall.SIGTERM)
}

func (c *client) handleProcessKill(req *jsonrpc.Request) (any, error) {
	return c.signalProcess(req, syscall.SIGKILL)
}

func (c *client) handleProcessList(req *jsonrpc.Request) (any, error) {
	return map[string]any{"processes": c.s.status().Processes}, nil
}

// validateOutput checks a pool's or process's "output" field, filling in
// the default.
func validateOutput(output *string) *jsonrpc.Error {
	switch *output {
	case "":
		*output = protocol.OutputLog
	case protocol.OutputLog, protocol.OutputInherit:
	default:
		return protocol.Errorf(protocol.CodeInvalidParams,
			"invalid params: field \"output\": want \"log\" or \"inherit\", got %q", *output)
	}
	return nil
}
