package shell_test

// Tests of clients/shell/corral.sh: real bash processes against a real
// supervisor. The scripts under testdata/ run with set -euo pipefail and
// check their own results, failing with a line that says what and where.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	corral "github.com/corralhq/corral/clients/go"
	"github.com/corralhq/corral/protocol"
)

var (
	corralBin string
	buildErr  error
	shimPath  string
	testdata  string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "corral-shell-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	corralBin = filepath.Join(dir, "corral")
	cmd := exec.Command("go", "build", "-o", corralBin, "./cmd/corral")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		buildErr = fmt.Errorf("go build ./cmd/corral: %v\n%s", err, out)
	}
	shimPath, _ = filepath.Abs("corral.sh")
	testdata, _ = filepath.Abs("testdata")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func needCorral(t *testing.T) {
	t.Helper()
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash:", err)
	}
}

// logWriter collects the supervisor's log, shown when a test fails.
type logWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// sidecar starts a supervisor for one test and stops it at the end.
func sidecar(t *testing.T) *corral.Client {
	t.Helper()
	needCorral(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := &logWriter{}
	c, err := corral.Start(ctx, corral.StartOptions{Bin: corralBin, Stderr: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("supervisor log:\n%s", log.String())
		}
	})
	return c
}

// shell runs `bash SCRIPT ARGS…` from a directory of its own, with the
// supervisor's socket and the binary in its environment, and returns its
// stdout, stderr and exit status (-1 when it could not run or did not end;
// the test has then failed). Everything it started must have ended when it
// exits. Safe to call from any goroutine.
func shell(t *testing.T, c *corral.Client, script string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{script}, args...)...)
	tmp := t.TempDir()
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(),
		"CORRAL_BIN="+corralBin,
		"SHIM="+shimPath,
		"TMPDIR="+tmp,
	)
	if c != nil {
		cmd.Env = append(cmd.Env, "CORRAL_SOCKET="+c.Socket())
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		checkGroupGone(t, cmd.Process.Pid)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Errorf("bash %s: %v", script, err)
		code = -1
	}
	if ctx.Err() != nil {
		t.Errorf("bash %s: did not end within a minute\nstdout:\n%s\nstderr:\n%s", script, out.String(), errb.String())
		code = -1
	}
	return out.String(), errb.String(), code
}

// script runs a testdata script that prints "ok" as its last line when all
// its checks passed.
func script(t *testing.T, c *corral.Client, name string, args ...string) {
	t.Helper()
	out, errs, code := shell(t, c, filepath.Join(testdata, name), args...)
	if code != 0 || !strings.HasSuffix(out, "ok\n") {
		t.Fatalf("%s: exit status %d\nstdout:\n%s\nstderr:\n%s", name, code, out, errs)
	}
}

func TestObjects(t *testing.T) {
	t.Parallel()
	script(t, sidecar(t), "objects.sh")
}

func TestLocks(t *testing.T) {
	t.Parallel()
	script(t, sidecar(t), "locks.sh")
}

// Held locks the way corral.sh holds them where /dev/fd cannot reopen a
// pipe (not Linux): through a named pipe.
func TestLocksFIFO(t *testing.T) {
	t.Parallel()
	script(t, sidecar(t), "locks.sh", "fifo")
}

// Two shells increment a counter file under corral_with_lock and a shared
// value under corral_lock_acquire, each with a read-modify-write that the
// other can interleave with: no update may be lost.
func TestLockContention(t *testing.T) {
	t.Parallel()
	c := sidecar(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.CreateObject(ctx, "value", "count", &protocol.ObjectParams{Typecode: "i"}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "counter")
	if err := os.WriteFile(file, []byte("0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const n = 12
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errs, code := shell(t, c, filepath.Join(testdata, "contend.sh"), strconv.Itoa(n), file)
			if code != 0 || out != "done\n" {
				t.Errorf("contend.sh: exit status %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
			}
		}()
	}
	wg.Wait()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != strconv.Itoa(2*n) {
		t.Errorf("counter file: %s, want %d", got, 2*n)
	}
	var v int
	if err := c.Value("count").Get(ctx, &v); err != nil {
		t.Fatal(err)
	}
	if v != 2*n {
		t.Errorf("value count: %d, want %d", v, 2*n)
	}
}

// workerPool makes a pool of bash workers running testdata/SCRIPTNAME. Each
// pool's workers get a TMPDIR of their own, which must be empty when the
// test ends: corral_serve leaves nothing behind.
func workerPool(t *testing.T, c *corral.Client, name, scriptName string, workers int) *corral.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tmp := t.TempDir()
	t.Cleanup(func() {
		c.Close() // stops the workers
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("pool %s left %s in its TMPDIR", name, left[0].Name())
		}
	})
	p, err := c.CreatePool(ctx, protocol.PoolSpec{
		Name:    name,
		Command: "bash",
		Args:    []string{filepath.Join(testdata, scriptName)},
		Workers: workers,
		Env:     map[string]string{"CORRAL_BIN": corralBin, "TMPDIR": tmp},
		Cwd:     t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A Go driver maps ints over corral_serve double and gets ints back.
func TestServeMapInts(t *testing.T) {
	t.Parallel()
	c := sidecar(t)
	p := workerPool(t, c, "sh", "worker.sh", 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	items := make([]int, 40)
	want := make([]int, len(items))
	for i := range items {
		items[i] = i - 5
		want[i] = 2 * (i - 5)
	}
	got, err := corral.Map[int](ctx, p, "double", items)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Map double: %v, want %v", got, want)
	}
	// One at a time (task.run), and with a chunk of one item per call.
	var n int
	if err := p.Apply(ctx, &n, "square", 12); err != nil || n != 144 {
		t.Errorf("Apply square 12: %d, %v; want 144", n, err)
	}
	got, err = corral.Map[int](ctx, p, "square", []int{1, 2, 3}, corral.Chunksize(1))
	if err != nil || !reflect.DeepEqual(got, []int{1, 4, 9}) {
		t.Errorf("Map square: %v, %v", got, err)
	}
	// Starmap: each item is the argument list.
	counts, err := corral.Starmap[int](ctx, p, "nargs", [][]any{{}, {1}, {"a", "b", nil}})
	if err != nil || !reflect.DeepEqual(counts, []int{0, 1, 3}) {
		t.Errorf("Starmap nargs: %v, %v", counts, err)
	}
	// A failing item names its index.
	_, err = corral.Map[int](ctx, p, "double", []any{1, 2, "x", 4})
	var ce *corral.Error
	if !errors.As(err, &ce) || !errors.Is(err, corral.ErrTaskFailed) || ce.Data.Index == nil || *ce.Data.Index != 2 {
		t.Errorf("Map double with a string: %v (%#v), want task_failed at index 2", err, ce)
	}
}

// Text travels exactly: arguments arrive decoded, and a string-mode result
// is the function's stdout less one newline.
func TestServeText(t *testing.T) {
	t.Parallel()
	c := sidecar(t)
	p := workerPool(t, c, "sh", "worker.sh", 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	texts := []string{
		"", "plain", "two words", `q"uote`, `back\slash`, "new\nline\n\n", "tab\there",
		"\x01\x1f\x7f", "é ☃ 😀 \u2028", "-n", "$HOME `x` $(y)", `\u0041`, "*", "  spaced  ", "10",
	}
	got, err := corral.Map[string](ctx, p, "echo_text", texts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, texts) {
		for i := range texts {
			if got[i] != texts[i] {
				t.Errorf("echo_text %q: got %q", texts[i], got[i])
			}
		}
	}
	// Positional parameters: strings decoded, numbers and booleans as
	// written, null empty, arrays and objects as compact JSON.
	var s string
	if err := p.Apply(ctx, &s, "args_text", "a,b", -1.5e3, true, false, nil, []any{1, "x y", map[string]any{"k": []int{}}}, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if want := `a,b,-1500,true,false,,[1,"x y",{"k":[]}],{}`; s != want {
		t.Errorf("args_text: %q, want %q", s, want)
	}
	var raw json.RawMessage
	if err := p.Apply(ctx, &raw, "args_json", "é\n", 7, nil, []any{"a"}); err != nil {
		t.Fatal(err)
	}
	var back []any
	if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back, []any{"é\n", 7.0, nil, []any{"a"}}) {
		t.Errorf("args_json: %s (%v)", raw, err)
	}
	// Keyword arguments, the task and the function.
	if err := p.Apply(ctx, &s, "greet", "bob", corral.Kwargs{"greeting": "hi \"there\""}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, `hi "there", bob (task t-`) || !strings.HasSuffix(s, ", fn greet)") {
		t.Errorf("greet: %q", s)
	}
	// Bytes that are not UTF-8 become U+FFFD rather than break the reply.
	if err := p.Apply(ctx, &s, "bytes_out"); err != nil || s != "a\uFFFDb\uFFFD" {
		t.Errorf("bytes_out: %q, %v; want %q", s, err, "a\uFFFDb\uFFFD")
	}
	// A task's stdin is /dev/null, never the protocol.
	if err := p.Apply(ctx, &s, "reads_stdin"); err != nil || s != "stdin was empty" {
		t.Errorf("reads_stdin: %q, %v", s, err)
	}
}

// Result modes: auto sends numbers, booleans and null as JSON, anything
// else as a string; lines sends an array of lines.
func TestServeResultModes(t *testing.T) {
	t.Parallel()
	c := sidecar(t)
	p := workerPool(t, c, "sh", "worker.sh", 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cases := []struct {
		in   string
		want string
	}{
		{"10", "10"}, {"-3", "-3"}, {"1.5e3", "1.5e3"}, {"true", "true"}, {"false", "false"}, {"null", "null"},
		{"010", `"010"`}, {" 1", `" 1"`}, {"1.", `"1."`}, {"+1", `"+1"`}, {"True", `"True"`}, {"", `""`},
		{"0x10", `"0x10"`}, {"[1]", `"[1]"`}, {"a\nb", `"a\nb"`},
	}
	for _, tc := range cases {
		var raw json.RawMessage
		if err := p.Apply(ctx, &raw, "auto", tc.in); err != nil {
			t.Errorf("auto %q: %v", tc.in, err)
			continue
		}
		if string(raw) != tc.want {
			t.Errorf("auto %q: %s, want %s", tc.in, raw, tc.want)
		}
	}
	var lines []string
	if err := p.Apply(ctx, &lines, "words", "a", "b c", ""); err != nil || !reflect.DeepEqual(lines, []string{"a", "b c", ""}) {
		t.Errorf("words: %q, %v", lines, err)
	}
	if err := p.Apply(ctx, &lines, "words"); err != nil || len(lines) != 0 || lines == nil {
		t.Errorf("words with no arguments: %#v, %v; want []", lines, err)
	}
}

// A function that fails fails its task with its status and its stderr;
// the worker carries on.
func TestServeFailure(t *testing.T) {
	t.Parallel()
	c := sidecar(t)
	p := workerPool(t, c, "sh", "worker.sh", 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	taskErr := func(fn string, args ...any) *corral.Error {
		t.Helper()
		err := p.Apply(ctx, nil, fn, args...)
		var ce *corral.Error
		if !errors.As(err, &ce) || !errors.Is(err, corral.ErrTaskFailed) {
			t.Fatalf("%s: %v, want task_failed", fn, err)
		}
		return ce
	}
	ce := taskErr("fail", 3)
	if ce.Data.Type != "ExitStatus" || ce.Data.Message != "fail exited with status 3: something went wrong with 3" {
		t.Errorf("fail 3: type %q, message %q", ce.Data.Type, ce.Data.Message)
	}
	if ce.Data.Traceback != "something went wrong with 3\n" {
		t.Errorf("fail 3: traceback %q, want its stderr", ce.Data.Traceback)
	}
	if !strings.Contains(ce.Error(), "exited with status 3") {
		t.Errorf("fail 3: error %q does not give the status", ce.Error())
	}
	if ce = taskErr("strict"); ce.Data.Message != "strict exited with status 1" {
		t.Errorf("strict (set -e): %q", ce.Data.Message)
	}
	if ce = taskErr("unbound", "one"); !strings.Contains(ce.Data.Message, "unbound variable") {
		t.Errorf("unbound (set -u): %q", ce.Data.Message)
	}
	ce = taskErr("loud")
	if ce.Data.Message != "loud exited with status 9: the real reason" || len(ce.Data.Traceback) != 65536 || !strings.HasPrefix(ce.Data.Traceback, "line 0000 ") {
		t.Errorf("loud: message %q, traceback of %d bytes starting %.20q", ce.Data.Message, len(ce.Data.Traceback), ce.Data.Traceback)
	}
	if ce = taskErr("dies"); ce.Data.Message != "dies exited with status 137" {
		t.Errorf("dies: %q", ce.Data.Message)
	}
	err := p.Apply(ctx, nil, "nosuch")
	if !errors.Is(err, corral.ErrUnknownFunction) {
		t.Errorf("nosuch: %v, want unknown_function", err)
	}
	var n int
	if err := p.Apply(ctx, &n, "double", 21); err != nil || n != 42 {
		t.Errorf("double after the failures: %d, %v", n, err)
	}
	st, err := p.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Restarts != 0 {
		t.Errorf("workers restarted %d times; failures must not stop the worker", st.Restarts)
	}

	// Without set -e in the script, a failing command does not end a task.
	lax := workerPool(t, c, "lax", "lax.sh", 1)
	var s string
	if err := lax.Apply(ctx, &s, "strict"); err != nil || s != "reached" {
		t.Errorf("strict without set -e: %q, %v; want \"reached\"", s, err)
	}
}

// A task calls back into shared objects with the corral_* functions.
func TestServeCallbacks(t *testing.T) {
	t.Parallel()
	c := sidecar(t)
	p := workerPool(t, c, "cb", "worker.sh", 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	names, err := corral.Map[string](ctx, p, "record", []string{"a", "b c", "d\"e"}, corral.Chunksize(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "cb-") {
			t.Errorf("record: worker name %q", n)
		}
	}
	var seen []string
	if err := c.List("seen").Items(ctx, &seen); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 {
		t.Fatalf("list seen: %q", seen)
	}
	have := map[string]bool{}
	for _, s := range seen {
		have[s] = true
	}
	for _, want := range []string{"a", "b c", "d\"e"} {
		if !have[want] {
			t.Errorf("list seen %q lacks %q", seen, want)
		}
	}
}

// check-worker runs every worker and doubler conformance case against
// corral_serve, on stdio and on fds 3 and 4.
func TestCheckWorker(t *testing.T) {
	t.Parallel()
	needCorral(t)
	for _, tc := range []struct{ name, script, fds string }{
		{"stdio", "double.sh", ""},
		{"fds", "fdsworker.sh", "--fds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"check-worker", "--cases", "worker,doubler"}
			if tc.fds != "" {
				args = append(args, tc.fds)
			}
			args = append(args, "--", "bash", filepath.Join(testdata, tc.script))
			cmd := exec.Command(corralBin, args...)
			cmd.Dir = t.TempDir()
			tmp := t.TempDir()
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), " 0 failed") {
				t.Fatalf("check-worker: %v\n%s", err, out)
			}
			// check-worker kills each worker with SIGKILL: nothing may be left.
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("workers killed by check-worker left %s in TMPDIR", left[0].Name())
			}
		})
	}
}

// corral_serve refuses what it cannot serve before it reads a message.
func TestServeUsage(t *testing.T) {
	t.Parallel()
	needCorral(t)
	for _, tc := range []struct{ body, want string }{
		{"corral_serve", "usage: corral_serve"},
		{"corral_serve nosuch", "'nosuch' is not a function or command"},
		{"f() { :; }; corral_serve f:xml", "unknown result mode 'xml'"},
		{"f() { :; }; corral_serve --bad f", "unknown flag --bad"},
	} {
		file := filepath.Join(t.TempDir(), "usage.sh")
		body := "set -euo pipefail\n. " + strconv.Quote(shimPath) + "\n" + tc.body + "\n"
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errs, code := shell(t, nil, file)
		if code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%s: exit status %d, stderr %q; want 2 and %q", tc.body, code, errs, tc.want)
		}
	}
}

// A pool terminated mid-task (its workers get SIGTERM) leaves no
// temporary files behind: workerPool's cleanup checks. (check-worker, which
// kills its workers with SIGKILL, is covered by the file having no name.)
func TestServeTerminate(t *testing.T) {
	t.Parallel()
	c := sidecar(t)
	p := workerPool(t, c, "term", "worker.sh", 2)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var n int
	if err := p.Apply(ctx, &n, "double", 4); err != nil || n != 8 {
		t.Fatalf("double 4: %d, %v", n, err)
	}
	res, err := p.Submit(ctx, "sleepy", 30)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := p.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := res.Get(ctx, nil); err == nil {
		t.Error("a task of a terminated pool succeeded")
	}
}

// corral map --mode rpc runs a corral_serve script N-wide, each input line
// the function's one argument.
func TestMapRPC(t *testing.T) {
	t.Parallel()
	needCorral(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, corralBin, "map", "--mode", "rpc", "-j2", "-k", "--fn", "double", "--", "bash", filepath.Join(testdata, "double.sh"))
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader("1\n2\n3\n-4\n50\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("corral map: %v\n%s", err, stderr.String())
	}
	if got, want := string(out), "2\n4\n6\n-8\n100\n"; got != want {
		t.Errorf("corral map: %q, want %q\nstderr:\n%s", got, want, stderr.String())
	}
}
