package conformance

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/corralhq/corral/child"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// python resolves the real interpreter once: `python3` on PATH may be a
// wrapper script (pyenv) that costs more than the worker's own start-up.
var python = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	return strings.TrimSpace(string(out)), err
})

// workers are the example workers every case must pass against.
func workers(t *testing.T) map[string]Command {
	t.Helper()
	ws := map[string]Command{"doubler.sh": {Path: "../../examples/doubler.sh"}}
	if py, err := python(); err == nil && py != "" {
		ws["doubler.py"] = Command{Path: py, Args: []string{"../../examples/doubler.py"}}
	} else {
		t.Logf("no python3 (%v): skipping doubler.py", err)
	}
	return ws
}

func TestSets(t *testing.T) {
	if got, want := Sets(), []string{"doubler", "worker"}; !slices.Equal(got, want) {
		t.Fatalf("Sets() = %v, want %v", got, want)
	}
	seen := map[string]string{}
	for _, set := range Sets() {
		cases, err := Cases(set)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			// check-worker prints bare names, so they must be unique.
			if other, dup := seen[c.Name]; dup {
				t.Errorf("case %q is in both %s and %s", c.Name, other, set)
			}
			seen[c.Name] = set
			if c.Description == "" {
				t.Errorf("%s/%s has no description", set, c.Name)
			}
		}
	}
	if _, err := Cases("../worker"); err == nil {
		t.Error(`Cases("../worker") did not fail`)
	}
}

// Every case passes against the example workers, on stdio and on fds 3/4.
func TestExampleWorkers(t *testing.T) {
	for name, cmd := range workers(t) {
		for _, fds := range []bool{false, true} {
			cmd := cmd
			cmd.FDs = fds
			for _, set := range Sets() {
				cases, err := Cases(set)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cases {
					t.Run(name+"/fds="+strconv.FormatBool(fds)+"/"+c.Name, func(t *testing.T) {
						t.Parallel()
						if r := RunCommand(context.Background(), cmd, c, Options{}); !r.Pass {
							t.Error(r)
						}
					})
				}
			}
		}
	}
}

// The shebang and the executable bit work: a supervisor runs the file itself.
func TestExamplesRunDirectly(t *testing.T) {
	cases, err := Cases("worker")
	if err != nil {
		t.Fatal(err)
	}
	hello := cases[slices.IndexFunc(cases, func(c Case) bool { return c.Name == "hello" })]
	for _, path := range []string{"../../examples/doubler.sh", "../../examples/doubler.py"} {
		if path == "../../examples/doubler.py" {
			if _, err := python(); err != nil {
				continue
			}
		}
		if r := RunCommand(context.Background(), Command{Path: path}, hello, Options{}); !r.Pass {
			t.Errorf("%s: %s", path, r)
		}
	}
}

// cat echoes every line, so it fails every worker case, with a reason that
// says so, and without waiting for a step's deadline.
func TestCatFails(t *testing.T) {
	cases, err := Cases("worker")
	if err != nil {
		t.Fatal(err)
	}
	const timeout = 3 * time.Second
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			r := RunCommand(context.Background(), Command{Path: "cat"}, c, Options{Timeout: timeout})
			t.Log(r)
			if r.Pass {
				t.Fatal("cat passed")
			}
			if !strings.Contains(r.Reason, "echoed our message back") {
				t.Errorf("reason %q does not say what went wrong", r.Reason)
			}
			if r.Elapsed >= timeout {
				t.Errorf("took %s: it waited for the deadline", r.Elapsed)
			}
		})
	}
}

func TestFailureReasons(t *testing.T) {
	hello := `{"send":{"jsonrpc":"2.0","id":1,"method":"corral.hello","params":{"protocol":"corral/1"}}},` +
		`{"expect":{"jsonrpc":"2.0","id":1,"result":{"protocol":"corral/1"}}}`
	tests := []struct {
		name   string
		script string // run by sh -c
		steps  string
		reason string
	}{
		{"silent", `exec sleep 60`, hello, `step 2 (expect): no message within 300ms`},
		{"closes stdout", `exec cat >/dev/null`, hello, `step 2 (expect): the worker closed its output but is still running`},
		{"noise then silence", `echo starting up; echo '{"not":"rpc"}'; exec sleep 60`, hello,
			`no message within 300ms (skipped 2 line(s) that are not JSON-RPC messages, the last: "{\"not\":\"rpc\"}")`},
		{"dies", `echo 'fatal: no config' >&2; exit 3`, hello, `: it exited with code 3 (stderr: "fatal: no config")`},
		{"wrong reply", `read -r l; echo '{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}'`, hello,
			`step 2 (expect): result: expected {"protocol":"corral/1"}, got nothing (key absent); the message was {"jsonrpc"`},
		{"chatty notification", `read -r l; echo '{"jsonrpc":"2.0","id":null,"error":{"code":-32601}}'; exec cat >/dev/null`,
			`{"send":{"jsonrpc":"2.0","method":"x"}},{"expect_silence":0.1}`, `step 2 (expect_silence): expected no message for 100ms`},
		{"no exit", `exec sleep 60`, `{"close_stdin":true},{"expect_exit":0}`, `step 2 (expect_exit): still running 300ms after its input was closed`},
		{"bad exit", `exit 4`, `{"close_stdin":true},{"expect_exit":0}`, `step 2 (expect_exit): exited with status 4, want 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseCase([]byte(`{"name":"x","steps":[` + tt.steps + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			r := RunCommand(context.Background(), Command{Path: "sh", Args: []string{"-c", tt.script}}, c, Options{Timeout: 300 * time.Millisecond})
			if r.Pass || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("got %s\nwant a failure containing %s", r, tt.reason)
			}
		})
	}
}

func TestStartFailure(t *testing.T) {
	c := Case{Name: "x", Steps: []Step{{CloseStdin: true}}}
	r := RunCommand(context.Background(), Command{Path: "./no-such-worker"}, c, Options{})
	if r.Pass || !strings.Contains(r.Reason, "no-such-worker") {
		t.Errorf("got %s", r)
	}
}

// Close kills the worker's whole process group: a helper it started in the
// background does not outlive the run.
func TestCloseKillsGroup(t *testing.T) {
	p, err := Start(Command{Path: "sh", Args: []string{"-c", `sleep 60 & echo $!; exec cat >/dev/null`}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	line, err := p.Next(ctx)
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	helper, err := strconv.Atoi(string(line))
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	pid := p.Pid()
	p.Close()
	if child.Alive(pid) {
		t.Errorf("worker %d still alive after Close", pid)
	}
	// The helper is not our child, so its death cannot be awaited; SIGKILL
	// has been sent, and delivery takes a moment.
	deadline := time.Now().Add(5 * time.Second)
	for child.Alive(helper) {
		if time.Now().After(deadline) {
			t.Fatalf("helper %d still alive after Close", helper)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
