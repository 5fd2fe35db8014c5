package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

// ctlEnv is the environment for a ctl run: CORRAL_SOCKET=sock (none when
// sock is ""), and corral on PATH for bash scripts.
func ctlEnv(sock string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, protocol.EnvSocket+"=") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+filepath.Dir(corralBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if sock != "" {
		env = append(env, protocol.EnvSocket+"="+sock)
	}
	return env
}

// runCtl runs `corral ARGS…` with CORRAL_SOCKET=sock and returns its stdout,
// stderr and exit status.
func runCtl(t *testing.T, sock string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(corralBin, args...)
	cmd.Env = ctlEnv(sock)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("corral %v: %v", args, err)
		}
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// mustCtl runs ctl and fails unless it exits 0.
func mustCtl(t *testing.T, sock string, args ...string) string {
	t.Helper()
	out, errs, code := runCtl(t, sock, append([]string{"ctl"}, args...)...)
	if code != 0 {
		t.Fatalf("corral ctl %q: exit %d: %s", args, code, errs)
	}
	return out
}

// bashCtl runs a bash script with CORRAL_SOCKET set and corral on PATH.
func bashCtl(sock, script string, args ...string) *exec.Cmd {
	cmd := exec.Command("bash", append([]string{"-c", script, "bash"}, args...)...)
	cmd.Env = ctlEnv(sock)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestCtlOpsCoverProtocol(t *testing.T) {
	n := 0
	for fam, ops := range protocol.ObjectOps {
		for _, op := range ops {
			n++
			if _, ok := ctlOps[fam+"."+op]; !ok {
				t.Errorf("ctl has no entry for %s.%s", fam, op)
			}
		}
	}
	if n != len(ctlOps) {
		t.Errorf("ctl knows %d operations, protocol.ObjectOps %d", len(ctlOps), n)
	}
}

func TestCtlQueueRoundTrip(t *testing.T) {
	_, sock, _, _ := serveOnSocket(t, 1)
	items := []any{
		"plain",
		"with spaces  and\ttabs",
		`quotes " and ' both`,
		`dollar $HOME and $(echo no) and backtick ` + "`x`",
		`back\slash \\ \n not a newline`,
		"real\nnewline",
		"unicode é ✓ 🐄",
		"",
		42, -1.5, true, nil,
		[]any{"a", 1.0, map[string]any{"k": "v w"}},
	}
	for _, it := range items {
		arg, _ := json.Marshal(it)
		mustCtl(t, sock, "queue", "put", "jobs", string(arg))
	}
	if got := strings.TrimSpace(mustCtl(t, sock, "queue", "qsize", "jobs")); got != strconv.Itoa(len(items)) {
		t.Fatalf("qsize %s, want %d", got, len(items))
	}
	for _, it := range items {
		out := mustCtl(t, sock, "queue", "get", "jobs", "--timeout", "1")
		want, _ := json.Marshal(it)
		if strings.TrimSuffix(out, "\n") != string(want) {
			t.Errorf("got %q, want %s", out, want)
		}
	}
	// Through bash, with the JSON built by the shell: the argument survives
	// the quoting as it is.
	out, err := bashCtl(sock, `corral ctl queue put jobs "$1" && corral ctl queue get-nowait jobs`, `"a \"b\" $c \\ d"`).Output()
	if err != nil || string(out) != `"a \"b\" $c \\ d"`+"\n" {
		t.Fatalf("bash round trip: %q %v", out, err)
	}
}

func TestCtlOperations(t *testing.T) {
	_, sock, _, _ := serveOnSocket(t, 1)
	mustCtl(t, sock, "object", "create", "value", "v", `{"typecode":"i","initial":40}`)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"value", "add", "v", "2"}, "42"},
		{[]string{"value", "get", "v"}, "42"},
		{[]string{"value", "compare-and-swap", "v", "42", "7"}, "true"},
		{[]string{"value", "set", "v", "-3"}, "-3"},
		{[]string{"dict", "set", "cfg", `"k"`, "42"}, ""},
		{[]string{"dict", "set", "cfg", "1", `"one"`}, ""},
		{[]string{"dict", "get", "cfg", `"k"`}, "42"},
		{[]string{"dict", "get", "cfg", `"nope"`, `"dflt"`}, `"dflt"`},
		{[]string{"dict", "items", "cfg"}, `[["k",42],[1,"one"]]`},
		{[]string{"dict", "popitem", "cfg"}, `{"key":1,"value":"one"}`},
		{[]string{"list", "extend", "l", `["b","c","d"]`}, ""},
		{[]string{"list", "insert", "l", "0", `"a"`}, ""},
		{[]string{"list", "slice", "l", "1", "3"}, `["b","c"]`},
		{[]string{"list", "delete", "l", "start=1", "stop=3"}, ""},
		{[]string{"list", "slice", "l"}, `["a","d"]`},
		{[]string{"list", "pop", "l"}, `"d"`},
		{[]string{"namespace", "set", "ns", `"x"`, `{"a":1}`}, ""},
		{[]string{"namespace", "attrs", "ns"}, `{"x":{"a":1}}`},
		{[]string{"event", "set", "go"}, ""},
		{[]string{"event", "wait", "go", "--timeout", "1"}, "true"},
		{[]string{"lock", "acquire", "db", "--timeout", "1"}, "true"},
		{[]string{"semaphore", "value", "sem"}, "1"},
		{[]string{"object", "delete", "l"}, ""},
	}
	for _, tt := range tests {
		out, errs, code := runCtl(t, sock, append([]string{"ctl"}, tt.args...)...)
		if code != 0 || strings.TrimSuffix(out, "\n") != tt.want || (tt.want == "" && out != "") {
			t.Errorf("ctl %q: exit %d, stdout %q, stderr %q; want %q", tt.args, code, out, errs, tt.want)
		}
	}
	out := mustCtl(t, sock, "object", "list")
	var objs []protocol.ObjectStatus
	if err := json.Unmarshal([]byte(out), &objs); err != nil || len(objs) == 0 {
		t.Fatalf("object list: %q %v", out, err)
	}
	for _, o := range objs {
		if o.Name == "l" {
			t.Fatalf("deleted list still listed: %s", out)
		}
	}
}

func TestCtlExitCodes(t *testing.T) {
	_, sock, _, holder := serveOnSocket(t, 1)
	// Another connection holds lock db.
	if m := holder.roundTrip(`{"jsonrpc":"2.0","id":7,"method":"lock.acquire","params":{"name":"db"}}`); string(m["result"]) != `{"acquired":true}` {
		t.Fatalf("hold db: %s %s", m["result"], m["error"])
	}
	mustCtl(t, sock, "lock", "acquire", "mine") // a lock nobody holds
	mustCtl(t, sock, "queue", "put", "q1", "1")
	mustCtl(t, sock, "queue", "put", "q1", "1", "--no-block") // no maxsize: room
	mustCtl(t, sock, "object", "create", "queue", "small", `{"maxsize":1}`)
	mustCtl(t, sock, "queue", "put", "small", `"x"`)
	noSock := filepath.Join(t.TempDir(), "nobody.sock")

	tests := []struct {
		name   string
		sock   string
		args   []string
		code   int
		stdout string
		stderr string
		min    time.Duration // the call took at least this long
		max    time.Duration // and at most this
	}{
		{name: "empty queue", args: []string{"queue", "get", "jobs", "--no-block"}, code: 1, stderr: "empty (code 1001)"},
		{name: "get_nowait", args: []string{"queue", "get_nowait", "jobs"}, code: 1, stderr: "(code 1001)"},
		{name: "get timeout", args: []string{"queue", "get", "jobs", "--timeout", "0.3"}, code: 1, min: 300 * time.Millisecond, max: 2 * time.Second},
		{name: "full", args: []string{"queue", "put", "small", "1", "--timeout", "0.1"}, code: 1, stderr: "full"},
		{name: "lock held elsewhere", args: []string{"lock", "acquire", "db", "--timeout", "0.5"}, code: 1, stdout: "false",
			min: 500 * time.Millisecond, max: 2 * time.Second},
		{name: "lock no-block", args: []string{"lock", "acquire", "db", "--no-block"}, code: 1, stdout: "false", max: 2 * time.Second},
		{name: "with-lock no-block", args: []string{"with-lock", "db", "--no-block", "--", "true"}, code: 1, stderr: "not acquired", max: 2 * time.Second},
		{name: "with-lock no-block and timeout", args: []string{"with-lock", "db", "--no-block", "--timeout", "1", "--", "true"}, code: 2, stderr: "exclusive"},
		{name: "event wait timeout", args: []string{"event", "wait", "never", "--timeout", "0.2"}, code: 1, stdout: "false", min: 200 * time.Millisecond},
		{name: "is_set false is an answer", args: []string{"event", "is_set", "never"}, code: 0, stdout: "false"},
		{name: "empty is an answer", args: []string{"queue", "empty", "jobs"}, code: 0, stdout: "true"},

		{name: "unknown family", args: []string{"quux", "get", "x"}, code: 2, stderr: `unknown family "quux"`},
		{name: "unknown op", args: []string{"queue", "frobnicate", "x"}, code: 2, stderr: `unknown operation "frobnicate"`},
		{name: "non-JSON arg", args: []string{"queue", "put", "jobs", "bareword"}, code: 2, stderr: `ITEM is not JSON: "bareword"`},
		{name: "non-JSON second arg", args: []string{"dict", "set", "cfg", `"k"`, "{oops"}, code: 2, stderr: `VALUE is not JSON: "{oops"`},
		{name: "missing arg", args: []string{"value", "add", "counter"}, code: 2, stderr: "missing argument DELTA"},
		{name: "extra arg", args: []string{"queue", "get", "jobs", "1"}, code: 2, stderr: "too many arguments"},
		{name: "no name", args: []string{"queue", "get"}, code: 2, stderr: "missing NAME"},
		{name: "timeout where none", args: []string{"value", "get", "v", "--timeout", "1"}, code: 2, stderr: "takes no --timeout"},
		{name: "bad timeout", args: []string{"queue", "get", "jobs", "--timeout", "-1"}, code: 2, stderr: "--timeout"},
		{name: "unknown flag", args: []string{"queue", "get", "jobs", "--frob"}, code: 2, stderr: "unknown flag --frob"},
		{name: "unknown named param", args: []string{"queue", "put", "jobs", "color=1"}, code: 2, stderr: `no parameter "color"`},
		{name: "with-lock without --", args: []string{"with-lock", "db", "true"}, code: 2, stderr: "usage"},

		{name: "wrong kind", args: []string{"queue", "put", "mine", "1"}, code: 3, stderr: "corral ctl: queue.put mine: mine is a lock, not a queue (code 1018)"},
		{name: "release not owned", args: []string{"lock", "release", "db"}, code: 3, stderr: "corral ctl: lock.release db:"},
		{name: "value needs a typecode", args: []string{"value", "add", "counter", "1"}, code: 3, stderr: "(code 1004)"},
		{name: "no socket", sock: "-", args: []string{"queue", "get", "jobs"}, code: 3, stderr: "no supervisor socket: pass --socket PATH or set CORRAL_SOCKET"},
		{name: "dead socket", sock: noSock, args: []string{"queue", "get", "jobs"}, code: 3, stderr: "cannot connect to the supervisor at " + noSock},
		{name: "--socket wins", sock: noSock, args: []string{"--socket", sock, "queue", "qsize", "q1"}, code: 0, stdout: "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := sock
			switch tt.sock {
			case "-":
				s = ""
			case "":
			default:
				s = tt.sock
			}
			start := time.Now()
			out, errs, code := runCtl(t, s, append([]string{"ctl"}, tt.args...)...)
			took := time.Since(start)
			if code != tt.code || !strings.Contains(errs, tt.stderr) || (tt.stdout != "" && strings.TrimSpace(out) != tt.stdout) {
				t.Errorf("ctl %q: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr mentioning %q",
					tt.args, code, out, errs, tt.code, tt.stdout, tt.stderr)
			}
			if took < tt.min || (tt.max > 0 && took > tt.max) {
				t.Errorf("ctl %q took %v, want %v..%v", tt.args, took, tt.min, tt.max)
			}
		})
	}
}

// TestCtlCounterAcrossBash: 8 bash processes each add 1 to a counter 25
// times through corral ctl; add is atomic, so the counter ends at 200.
func TestCtlCounterAcrossBash(t *testing.T) {
	_, sock, _, _ := serveOnSocket(t, 1)
	mustCtl(t, sock, "object", "create", "value", "counter", `{"typecode":"i"}`)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := bashCtl(sock, `for i in $(seq 25); do corral ctl value add counter 1 >/dev/null || exit 1; done`).Run(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("bash: %v", err)
	}
	if got := strings.TrimSpace(mustCtl(t, sock, "value", "get", "counter")); got != "200" {
		t.Fatalf("counter %s, want 200", got)
	}
}

// TestCtlWithLock: critical sections run under with-lock from concurrent
// bash processes never interleave.
func TestCtlWithLock(t *testing.T) {
	_, sock, _, _ := serveOnSocket(t, 1)
	log := filepath.Join(t.TempDir(), "log")
	const script = `for i in 1 2 3; do
  corral ctl with-lock db -- bash -c 'echo "start $1" >> "$2"; sleep 0.02; echo "end $1" >> "$2"' _ "$1.$i" "$2" || exit 1
done`
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := bashCtl(sock, script, strconv.Itoa(p), log).Run(); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("bash: %v", err)
	}
	data, _ := os.ReadFile(log)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4*3*2 {
		t.Fatalf("%d lines, want 24:\n%s", len(lines), data)
	}
	for i := 0; i < len(lines); i += 2 {
		id, ok := strings.CutPrefix(lines[i], "start ")
		if !ok || lines[i+1] != "end "+id {
			t.Fatalf("critical sections interleaved at line %d:\n%s", i+1, data)
		}
	}
	// The lock was given back each time: nobody holds it now.
	if out := strings.TrimSpace(mustCtl(t, sock, "lock", "locked", "db")); out != "false" {
		t.Fatalf("db still locked after with-lock: %s", out)
	}
}

func TestCtlWithLockStatus(t *testing.T) {
	_, sock, _, holder := serveOnSocket(t, 1)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"success", []string{"with-lock", "a", "--", "bash", "-c", "echo hi"}, 0, "hi\n"},
		{"exit status", []string{"with-lock", "a", "--", "bash", "-c", "exit 7"}, 7, ""},
		{"killed by a signal", []string{"with-lock", "a", "--", "bash", "-c", "kill -TERM $$"}, 128 + int(syscall.SIGTERM), ""},
		{"no such command", []string{"with-lock", "a", "--", "corral-no-such-command"}, 127, ""},
		{"semaphore", []string{"with-semaphore", "s", "--timeout", "1", "--", "bash", "-c", "corral ctl semaphore value s"}, 0, "0\n"},
		{"held elsewhere", []string{"with-lock", "held", "--timeout", "0.3", "--", "bash", "-c", "echo ran"}, 1, ""},
	}
	if m := holder.roundTrip(`{"jsonrpc":"2.0","id":7,"method":"lock.acquire","params":{"name":"held"}}`); string(m["result"]) != `{"acquired":true}` {
		t.Fatalf("hold: %s %s", m["result"], m["error"])
	}
	for _, tt := range tests {
		out, errs, code := runCtl(t, sock, append([]string{"ctl"}, tt.args...)...)
		if code != tt.code || out != tt.stdout {
			t.Errorf("%s: ctl %q: exit %d, stdout %q, stderr %q; want %d, %q", tt.name, tt.args, code, out, errs, tt.code, tt.stdout)
		}
	}
	if out := strings.TrimSpace(mustCtl(t, sock, "semaphore", "value", "s")); out != "1" {
		t.Fatalf("semaphore permit not given back: %s", out)
	}
}

// TestCtlWithLockForwardsSignals: SIGTERM to ctl reaches CMD, whose exit
// status ctl then takes; the lock is released.
func TestCtlWithLockForwardsSignals(t *testing.T) {
	_, sock, _, _ := serveOnSocket(t, 1)
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready")
	cmd := exec.Command(corralBin, "ctl", "with-lock", "db", "--", "bash", "-c",
		`trap 'echo got TERM; exit 42' TERM; touch "$1"; while :; do sleep 0.01; done`, "_", ready)
	cmd.Env = ctlEnv(sock)
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("CMD never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := strings.TrimSpace(mustCtl(t, sock, "lock", "locked", "db")); got != "true" {
		t.Fatalf("db not locked while CMD runs: %s", got)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 42 || out.String() != "got TERM\n" {
		t.Fatalf("exit %d, stdout %q; want 42, CMD's trap output", code, out.String())
	}
	if got := strings.TrimSpace(mustCtl(t, sock, "lock", "locked", "db")); got != "false" {
		t.Fatalf("db still locked: %s", got)
	}
}

// TestCtlInvocationRate measures corral ctl calls per second from one bash
// loop (a process, a connection and a hello per call).
func TestCtlInvocationRate(t *testing.T) {
	_, sock, _, _ := serveOnSocket(t, 1)
	mustCtl(t, sock, "object", "create", "value", "counter", `{"typecode":"i","initial":5}`)
	const n = 200
	start := time.Now()
	out, err := bashCtl(sock, fmt.Sprintf(`for i in $(seq %d); do corral ctl value get counter || exit 1; done | sort | uniq -c`, n)).Output()
	took := time.Since(start)
	if err != nil || strings.Fields(string(out))[0] != strconv.Itoa(n) {
		t.Fatalf("loop: %q %v", out, err)
	}
	t.Logf("corral ctl: %d value get calls in %v: %.0f invocations/s (%.2f ms each)",
		n, took.Round(time.Millisecond), n/took.Seconds(), took.Seconds()*1000/n)
}
