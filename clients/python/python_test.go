// Package python runs the Python shim's unittest suite (clients/python/tests)
// against a freshly built corral binary, so that the README's test command
// covers it. The tests are skipped only when no Python 3.9 or newer is
// installed.
package python

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
	args := []string{"-m", "unittest", "discover", "-s", "tests"}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	cmd := exec.Command(python, args...)
	cmd.Env = append(os.Environ(),
		"CORRAL_BIN="+bin,
		"PYTHONPATH="+mustAbs(t, "."),
		"PYTHONDONTWRITEBYTECODE=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python -m unittest: %v\n%s", err, out)
	}
	if testing.Verbose() {
		t.Logf("%s", out)
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
