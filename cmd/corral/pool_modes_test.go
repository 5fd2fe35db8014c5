package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corral "github.com/corralhq/corral/clients/go"
	"github.com/corralhq/corral/protocol"
)

// startWithConfig runs the real binary as a sidecar with a TOML config.
func startWithConfig(t *testing.T, toml string) *corral.Client {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "corral.toml")
	if err := os.WriteFile(cfg, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := corral.Start(ctx, corral.StartOptions{Bin: corralBin, Config: cfg, ExtraArgs: []string{"--log-level", "warn"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A lines pool and an exec pool declared in TOML take tasks by the
// protocol exactly as an rpc pool does.
func TestTOMLLinesAndExecPools(t *testing.T) {
	c := startWithConfig(t, `
[pool.upper]
mode = "lines"
# GNU sed -u reads and answers line by line (mawk, by contrast, reads its
# input in blocks and would wait for more).
command = "sed"
args = ["-u", "s/.*/\\U&/"]
workers = 2

[pool.words]
mode = "exec"
command = "sh"
args = ["-c", "printf '%s|%s' \"$1\" \"$2\"", "sh", "{}", "{.}"]
workers = 2
`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	upper := c.Pool("upper")
	in := make([]string, 500)
	want := make([]string, 500)
	for i := range in {
		in[i] = "line " + strings.Repeat("x", i%7) + " $1 'q' \\"
		want[i] = strings.ToUpper(in[i])
	}
	got, err := corral.Map[string](ctx, upper, protocol.FuncLine, in)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("line %d: got %q, want %q", i, got[i], want[i])
		}
	}
	var one string
	if err := upper.Apply(ctx, &one, protocol.FuncLine, "solo"); err != nil || one != "SOLO" {
		t.Fatalf("apply: %q, %v", one, err)
	}
	if err := upper.Apply(ctx, &one, protocol.FuncLine, "two\nlines"); err == nil {
		t.Fatal("an input with a newline was accepted by a lines pool")
	}

	words := c.Pool("words")
	var out string
	if err := words.Apply(ctx, &out, protocol.FuncRun, "a b/c.txt"); err != nil || out != "a b/c.txt|a b/c" {
		t.Fatalf("exec apply: %q, %v", out, err)
	}
	res, err := corral.Map[string](ctx, words, protocol.FuncRun, []string{"x.1", "-y", "$z"})
	if err != nil || strings.Join(res, ",") != "x.1|x,-y|-y,$z|$z" {
		t.Fatalf("exec map: %q, %v", res, err)
	}
}

// An exec job that fails reports its exit status and stderr; a lines
// filter that dies is a lost worker, replaced, and the pool goes on.
func TestTOMLModesFailures(t *testing.T) {
	c := startWithConfig(t, `
[pool.fails]
mode = "exec"
command = "sh"
args = ["-c", "echo oops >&2; exit 3"]
workers = 1

[pool.dies]
mode = "lines"
command = "sh"
args = ["-c", "read l; echo \"got $l\"; exit 7"]
workers = 1
`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out string
	err := c.Pool("fails").Apply(ctx, &out, protocol.FuncRun, "in")
	var e *corral.Error
	if !errors.As(err, &e) || e.Data.Type != "ExitError" || !strings.Contains(e.Data.Message, "code 3") || !strings.Contains(e.Data.Traceback, "oops") {
		t.Fatalf("exec failure: %v (%+v)", err, e)
	}
	dies := c.Pool("dies")
	if err := dies.Apply(ctx, &out, protocol.FuncLine, "one"); err != nil || out != "got one" {
		t.Fatalf("first line: %q, %v", out, err)
	}
	// The filter exited after one line: the next task finds its worker
	// gone (or lost mid-task) and a fresh filter answers after it.
	var lastErr error
	for range 3 {
		if lastErr = dies.Apply(ctx, &out, protocol.FuncLine, "two"); lastErr == nil {
			break
		}
		if !errors.Is(lastErr, corral.ErrWorkerLost) {
			t.Fatalf("second line: %v", lastErr)
		}
	}
	if lastErr != nil || out != "got two" {
		t.Fatalf("after restart: %q, %v", out, lastErr)
	}
}

func TestTOMLModeValidation(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "corral.toml")
	os.WriteFile(cfg, []byte("[pool.p]\nmode = \"exec\"\npty = true\ncommand = \"cat\"\n"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := corral.Start(ctx, corral.StartOptions{Bin: corralBin, Config: cfg, Stderr: new(strings.Builder)})
	if err == nil {
		t.Fatal("pty on an exec pool was accepted")
	}
}

// A worker whose reply has bytes that are not UTF-8 in a string still
// answers its task (with U+FFFD in their place); the reply is not taken
// for stray output, which would leave the task waiting forever.
func TestWorkerReplyWithInvalidUTF8(t *testing.T) {
	script := filepath.Join(t.TempDir(), "w.sh")
	os.WriteFile(script, []byte(`while IFS= read -r line; do id=${line#*\"id\":}; id=${id%%,*}
case $line in *corral.hello*) printf '{"jsonrpc":"2.0","id":%s,"result":{"protocol":"corral/1","role":"worker","functions":["f"]}}\n' "$id";;
*task.run*) printf '{"jsonrpc":"2.0","id":%s,"result":"a\xffb"}\n' "$id";; esac; done
`), 0o755)
	c := startWithConfig(t, "[pool.raw]\ncommand = \"bash\"\nargs = [\""+script+"\"]\nworkers = 1\n")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out string
	if err := c.Pool("raw").Apply(ctx, &out, "f", 1); err != nil || out != "a\uFFFDb" {
		t.Fatalf("got %q, %v", out, err)
	}
}
