// Package protocol holds corral/1 on the wire: method names, the params and
// results of every method, error codes and their data. It does no I/O; the
// normative text is spec/PROTOCOL.md.
package protocol

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
)

// Version is the protocol this build speaks.
const Version = "corral/1"

// Roles a peer announces in corral.hello.
const (
	RoleClient     = "client"
	RoleWorker     = "worker"
	RoleSupervisor = "supervisor"
)

// Methods served by the supervisor, to clients and to workers alike.
const (
	MethodHello            = "corral.hello"
	MethodStatus           = "corral.status"
	MethodPoolCreate       = "pool.create"
	MethodPoolSubmit       = "pool.submit"
	MethodPoolApply        = "pool.apply"
	MethodPoolMap          = "pool.map"
	MethodPoolImap         = "pool.imap"
	MethodMapCancel        = "map.cancel"
	MethodPoolClose        = "pool.close"
	MethodPoolJoin         = "pool.join"
	MethodPoolTerminate    = "pool.terminate"
	MethodPoolStats        = "pool.stats"
	MethodTaskWait         = "task.wait"
	MethodProcessStart     = "process.start"
	MethodProcessJoin      = "process.join"
	MethodProcessStatus    = "process.status"
	MethodProcessTerminate = "process.terminate"
	MethodProcessKill      = "process.kill"
	MethodProcessList      = "process.list"
)

// Notifications the supervisor sends to a client.
const (
	// NotifyTaskDone reports a task submitted with notify=true (TaskDone).
	NotifyTaskDone = "task.done"
	// NotifyMapResults carries one chunk of a pool.imap (MapResults).
	NotifyMapResults = "map.results"
	// NotifyMapDone ends a pool.imap stream (MapDone).
	NotifyMapDone = "map.done"
)

// Methods the supervisor calls on a worker.
const (
	MethodTaskRun = "task.run"
	MethodTaskMap = "task.map"
)

// Environment variables every worker and process started by corral gets.
const (
	EnvSocket     = "CORRAL_SOCKET"
	EnvWorkerID   = "CORRAL_WORKER_ID"
	EnvWorkerName = "CORRAL_WORKER_NAME"
	EnvPool       = "CORRAL_POOL"
	// EnvProtocolFDs is "3,4" when the worker must speak the protocol on
	// fd 3 (it reads) and fd 4 (it writes), leaving stdio to the program.
	EnvProtocolFDs = "CORRAL_PROTOCOL_FDS"
)

// HelloParams opens a connection. A client sends it to the supervisor; the
// supervisor sends it to each worker it starts.
type HelloParams struct {
	Protocol string `json:"protocol"`
	Role     string `json:"role"`
	Name     string `json:"name,omitempty"`
	// Version is the sender's software version.
	Version string `json:"version,omitempty"`
	// Socket and Worker are set by the supervisor when it greets a worker.
	Socket string      `json:"socket,omitempty"`
	Worker *WorkerInfo `json:"worker,omitempty"`
}

// WorkerInfo tells a worker who it is.
type WorkerInfo struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	Pool string `json:"pool"`
}

// HelloResult answers corral.hello.
type HelloResult struct {
	Protocol string `json:"protocol"`
	Role     string `json:"role"`
	Name     string `json:"name,omitempty"`
	Version  string `json:"version,omitempty"`
	// Socket is the supervisor's Unix socket (supervisor replies).
	Socket string `json:"socket,omitempty"`
	// Functions lists what a worker serves (worker replies).
	Functions []string `json:"functions,omitempty"`
	// Batch says the worker serves task.map (worker replies).
	Batch bool `json:"batch,omitempty"`
	// InOrder says the worker runs its tasks one at a time in the order
	// they came (worker replies): the supervisor may then send a task
	// ahead, before the one running is answered, knowing it has not
	// started if the worker is lost.
	InOrder bool `json:"in_order,omitempty"`
}

// CheckHello validates the protocol field of a hello, returning the error to
// send back when it does not match.
func CheckHello(protocol string) *jsonrpc.Error {
	if protocol == Version {
		return nil
	}
	if protocol == "" {
		return jsonrpc.Errorf(CodeInvalidParams, `invalid params: "protocol" is required (this peer speaks %q)`, Version)
	}
	e := jsonrpc.NewError(CodeVersionMismatch,
		fmt.Sprintf("protocol version mismatch: peer speaks %q, this side speaks %q; use a client or worker shim built for %s, or a corral release that speaks %s",
			protocol, Version, Version, protocol),
		map[string]any{"supported": []string{Version}})
	return e
}

// Seconds is a duration on the wire: a JSON number of seconds (fractions
// allowed). In TOML it may also be a Go duration string ("1.5s", "2m").
type Seconds float64

// Duration converts s to a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

// SecondsOf converts d to Seconds.
func SecondsOf(d time.Duration) Seconds { return Seconds(d.Seconds()) }

// UnmarshalJSON accepts a non-negative number, or a duration string.
func (s *Seconds) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		return s.UnmarshalText([]byte(str))
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("want a number of seconds, got %s", b)
	}
	return s.set(f)
}

// UnmarshalText parses "1.5s"-style durations and bare numbers of seconds.
func (s *Seconds) UnmarshalText(b []byte) error {
	str := strings.TrimSpace(string(b))
	if f, err := strconv.ParseFloat(str, 64); err == nil {
		return s.set(f)
	}
	d, err := time.ParseDuration(str)
	if err != nil {
		return fmt.Errorf("want a duration such as \"30s\" or a number of seconds, got %q", str)
	}
	return s.set(d.Seconds())
}

// UnmarshalTOML lets TOML numbers (seconds) and strings (durations) decode.
func (s *Seconds) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		return s.set(float64(v))
	case float64:
		return s.set(v)
	case string:
		return s.UnmarshalText([]byte(v))
	}
	return fmt.Errorf("want a duration such as \"30s\" or a number of seconds, got %T", v)
}

func (s *Seconds) set(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return fmt.Errorf("want a non-negative number of seconds, got %v", f)
	}
	*s = Seconds(f)
	return nil
}

// Modes of a pool's workers.
const (
	ModeRPC   = "rpc"   // the worker speaks the protocol
	ModeLines = "lines" // a filter: one line out per line in
	ModeExec  = "exec"  // a process per input
)

// The function a lines or exec pool serves: its one argument is the input
// string, its result the answer line (lines) or the process's stdout
// (exec).
const (
	FuncLine = "line"
	FuncRun  = "run"
)

// Stdio choices: where a worker speaks the protocol.
const (
	StdioPipes = "stdio" // stdin/stdout
	StdioFDs   = "fds"   // fds 3 (worker reads) and 4 (worker writes)
)

// Output choices: where the output of a worker or process goes that is not
// protocol (stderr, and stdout unless it carries the protocol).
const (
	OutputLog     = "log"     // read line by line into the supervisor's log
	OutputInherit = "inherit" // the supervisor's own stdout and stderr
)

// PoolSpec declares a pool: pool.create params, and a [pool.NAME] table.
type PoolSpec struct {
	Name    string            `json:"name" toml:"-"`
	Command string            `json:"command" toml:"command"`
	Args    []string          `json:"args,omitempty" toml:"args"`
	Workers int               `json:"workers,omitempty" toml:"workers"`
	Env     map[string]string `json:"env,omitempty" toml:"env"`
	Cwd     string            `json:"cwd,omitempty" toml:"cwd"`
	Mode    string            `json:"mode,omitempty" toml:"mode"`
	// PTY gives a lines-mode filter a pseudo-terminal for its stdout, so
	// programs that block-buffer on a pipe answer line by line.
	PTY   bool   `json:"pty,omitempty" toml:"pty"`
	Stdio string `json:"stdio,omitempty" toml:"stdio"`
	// Output is OutputLog (default) or OutputInherit.
	Output string `json:"output,omitempty" toml:"output"`
	// TaskTimeout bounds each call to a worker (one task, or one chunk of a
	// map); 0 means none.
	TaskTimeout       Seconds `json:"task_timeout,omitempty" toml:"task_timeout"`
	MaxTasksPerWorker int     `json:"max_tasks_per_worker,omitempty" toml:"max_tasks_per_worker"`
	// Retries is how many times a task whose worker was lost is run again.
	Retries int `json:"retries,omitempty" toml:"retries"`
	// Ahead is how many tasks may wait at a worker that runs them in order
	// (hello's in_order) behind the one it runs: 1 when absent, 0 for none.
	// A task sent ahead starts the moment the one before it is answered,
	// with no round trip between; it waits for that worker even if another
	// frees up first.
	Ahead *int `json:"ahead,omitempty" toml:"ahead"`
	// RestartIntensity and RestartPeriod: more unexpected worker exits than
	// RestartIntensity within RestartPeriod mark the pool broken.
	RestartIntensity int     `json:"restart_intensity,omitempty" toml:"restart_intensity"`
	RestartPeriod    Seconds `json:"restart_period,omitempty" toml:"restart_period"`
	HelloTimeout     Seconds `json:"hello_timeout,omitempty" toml:"hello_timeout"`
	// StopGrace is how long a worker has between SIGTERM and SIGKILL.
	StopGrace Seconds `json:"stop_grace,omitempty" toml:"stop_grace"`
}

// PoolCreateResult answers pool.create once every worker has said hello.
type PoolCreateResult struct {
	Name      string   `json:"name"`
	Workers   int      `json:"workers"`
	Functions []string `json:"functions,omitempty"`
}

// PoolRef names a pool (pool.close, pool.terminate, pool.stats).
type PoolRef struct {
	Pool string `json:"pool"`
}

// PoolJoinParams waits for a closed pool's tasks.
type PoolJoinParams struct {
	Pool    string   `json:"pool"`
	Timeout *Seconds `json:"timeout,omitempty"`
}

// SubmitParams submits one task (pool.submit; pool.apply adds Timeout).
type SubmitParams struct {
	Pool   string          `json:"pool"`
	Fn     string          `json:"fn"`
	Args   json.RawMessage `json:"args,omitempty"`
	Kwargs json.RawMessage `json:"kwargs,omitempty"`
	// Notify asks for a task.done notification when the task ends.
	Notify bool `json:"notify,omitempty"`
	// Tag is echoed in task.done, so a client can route a notification that
	// arrives before it has read the pool.submit reply.
	Tag string `json:"tag,omitempty"`
	// Timeout (pool.apply only) bounds the wait, as task.wait's does.
	Timeout *Seconds `json:"timeout,omitempty"`
}

// SubmitResult names the submitted task.
type SubmitResult struct {
	Task string `json:"task"`
}

// WaitParams waits for a task (task.wait).
type WaitParams struct {
	Task    string   `json:"task"`
	Timeout *Seconds `json:"timeout,omitempty"`
	// Keep leaves the task's outcome with the supervisor after it is
	// delivered, so it can be waited for again.
	Keep bool `json:"keep,omitempty"`
}

// TaskResult is a task's value (task.wait, pool.apply).
type TaskResult struct {
	Result json.RawMessage `json:"result"`
}

// TaskDone reports the end of a task submitted with notify=true.
type TaskDone struct {
	Task   string          `json:"task"`
	Tag    string          `json:"tag,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *jsonrpc.Error  `json:"error,omitempty"`
}

// MapParams runs fn over items (pool.map, pool.imap).
type MapParams struct {
	Pool  string          `json:"pool"`
	Fn    string          `json:"fn"`
	Items json.RawMessage `json:"items"`
	// Chunksize is how many items go to a worker at once; 0 picks
	// ceil(len/(4*workers)) as multiprocessing does.
	Chunksize int `json:"chunksize,omitempty"`
	// Star passes each item (an array) as the argument list (starmap).
	Star bool `json:"star,omitempty"`
	// Ordered (pool.imap) delivers chunks in input order; otherwise as they
	// complete.
	Ordered bool `json:"ordered,omitempty"`
	// Map (pool.imap) is the client's name for the stream, echoed in every
	// map.results and map.done, so a client can route notifications that
	// arrive before it has read the reply. The supervisor picks one when
	// empty. It must be unique among the connection's open streams.
	Map string `json:"map,omitempty"`
}

// MapResult answers pool.map: every result, in input order.
type MapResult struct {
	Results json.RawMessage `json:"results"`
}

// ImapStarted answers pool.imap before any map.results notification.
type ImapStarted struct {
	Map    string `json:"map"`
	Count  int    `json:"count"`
	Chunks int    `json:"chunks"`
}

// MapResults carries the results of items [Index, Index+len(Results)), or
// the error of the chunk starting at Index.
type MapResults struct {
	Map     string          `json:"map"`
	Index   int             `json:"index"`
	Results json.RawMessage `json:"results,omitempty"`
	Count   int             `json:"count"`
	Error   *jsonrpc.Error  `json:"error,omitempty"`
}

// MapRef names a pool.imap stream of the connection (map.cancel).
type MapRef struct {
	Map string `json:"map"`
}

// MapDone ends a pool.imap stream.
type MapDone struct {
	Map string `json:"map"`
}

// PoolStats answers pool.stats.
type PoolStats struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Workers  int    `json:"workers"`
	Busy     int    `json:"busy"`
	Idle     int    `json:"idle"`
	Queued   int    `json:"queued"`
	Done     int64  `json:"done"`
	Failed   int64  `json:"failed"`
	Restarts int64  `json:"restarts"`
	Command  string `json:"command"`
}

// Pool states.
const (
	PoolRunning    = "running"
	PoolClosed     = "closed"
	PoolTerminated = "terminated"
	PoolBroken     = "broken"
)

// RunParams is a task.run call to a worker.
type RunParams struct {
	Task   string          `json:"task"`
	Fn     string          `json:"fn"`
	Args   json.RawMessage `json:"args"`
	Kwargs json.RawMessage `json:"kwargs,omitempty"`
}

// RunMapParams is a task.map call: fn over each item, results as an array.
type RunMapParams struct {
	Task  string          `json:"task"`
	Fn    string          `json:"fn"`
	Items json.RawMessage `json:"items"`
	Star  bool            `json:"star,omitempty"`
}

// ErrorData is the data of task_failed, worker_lost, task_timeout and
// pool_broken errors. Workers fill Type, Message, Traceback (and Index in a
// task.map); the supervisor adds where it happened.
type ErrorData struct {
	Type      string `json:"type,omitempty"`
	Message   string `json:"message,omitempty"`
	Traceback string `json:"traceback,omitempty"`
	Index     *int   `json:"index,omitempty"`
	Task      string `json:"task,omitempty"`
	Fn        string `json:"fn,omitempty"`
	Pool      string `json:"pool,omitempty"`
	Worker    string `json:"worker,omitempty"`
	Pid       int    `json:"pid,omitempty"`
	ExitCode  *int   `json:"exit_code,omitempty"`
	Signal    string `json:"signal,omitempty"`
	// Value is a shim's own encoding of the error, relayed as is (the
	// Python shim sends the pickled exception, to re-raise it with its
	// type).
	Value json.RawMessage `json:"value,omitempty"`
}

// ProcessSpec starts a process (process.start).
type ProcessSpec struct {
	Name    string            `json:"name,omitempty"`
	Command string            `json:"command"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	Cwd     string            `json:"cwd,omitempty"`
	// Output is OutputLog (default) or OutputInherit.
	Output string `json:"output,omitempty"`
}

// ProcessRef names a process.
type ProcessRef struct {
	Name string `json:"name"`
}

// ProcessJoinParams waits for a process to exit.
type ProcessJoinParams struct {
	Name    string   `json:"name"`
	Timeout *Seconds `json:"timeout,omitempty"`
}

// ProcessInfo describes a process. ExitCode is null while it runs, and
// negative (minus the signal number) when a signal ended it.
type ProcessInfo struct {
	Name     string `json:"name"`
	Pid      int    `json:"pid"`
	Alive    bool   `json:"alive"`
	ExitCode *int   `json:"exitcode"`
	Command  string `json:"command"`
}

// Status answers corral.status.
type Status struct {
	Version   string        `json:"version"`
	Pid       int           `json:"pid"`
	Socket    string        `json:"socket"`
	Pools     []PoolStats   `json:"pools"`
	Processes []ProcessInfo `json:"processes"`
	// Objects lists the shared objects (object.list).
	Objects []ObjectStatus `json:"objects"`
}

// Errorf builds a protocol error with a formatted message.
func Errorf(code int64, format string, args ...any) *jsonrpc.Error {
	return jsonrpc.Errorf(code, format, args...)
}

// ErrorWith builds a protocol error carrying data.
func ErrorWith(code int64, message string, data any) *jsonrpc.Error {
	return jsonrpc.NewError(code, message, data)
}
