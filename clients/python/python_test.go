// Package python runs the Python shim's unittest suite (clients/python/tests)
// against a freshly built corral binary, so that the README's test command
// covers it. The tests are skipped only when no Python 3.9 or newer is
// installed.
package python

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// findPython returns a Python ≥ 3.9 interpreter's real path (sys.executable,
// not a wrapper script), or "".
func findPython(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("CORRAL_TEST_PYTHON"), "/root/.pyenv/versions/3.11.7/bin/python3", "python3", "python"}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		path, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "-c", "import sys; print(sys.version_info >= (3, 9)); print(sys.executable)").Output()
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) == 2 && lines[0] == "True" && lines[1] != "" {
			return lines[1]
		}
	}
	return ""
}

func TestPythonShim(t *testing.T) {
	python := findPython(t)
	if python == "" {
		t.Skip("no python3 >= 3.9 found: the Python shim's tests need one")
	}
	bin := filepath.Join(t.TempDir(), "corral")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/corral")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build corral: %v\n%s", err, out)
	}
	// -X faulthandler: the SIGABRT sent on a timeout prints every
	// thread's Python stack.
	args := []string{"-X", "faulthandler", "-m", "unittest", "discover", "-s", "tests", "-v"}
	limit := 8 * time.Minute
	if d, ok := t.Deadline(); ok && time.Until(d) < limit+30*time.Second {
		limit = time.Until(d) - 30*time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGABRT) }
	// Children that outlive the interpreter (they must not) would hold
	// the output pipe open: stop waiting for them after a while.
	cmd.WaitDelay = 10 * time.Second
	cmd.Env = append(os.Environ(),
		"CORRAL_BIN="+bin,
		"PYTHONPATH="+mustAbs(t, "."),
		"PYTHONDONTWRITEBYTECODE=1",
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("python -m unittest did not finish within %v; its output, with the stacks of its threads at the end:\n%s", limit, out.Bytes())
	}
	if err != nil {
		t.Fatalf("python -m unittest: %v\n%s", err, out.Bytes())
	}
	if testing.Verbose() {
		t.Logf("%s", out.Bytes())
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
