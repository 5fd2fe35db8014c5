package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuickstart runs the README's job end to end — a sidecar supervisor, a
// pool, a map over 5, 10, 15, 20, 25 — with the doubler written in each of
// Go, bash and Python.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	for _, b := range []struct{ out, pkg string }{
		{"corral", "../../cmd/corral"},
		{"doubler-go", "../doubler-go"},
	} {
		if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, b.out), b.pkg).CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	t.Setenv("CORRAL_BIN", filepath.Join(dir, "corral"))
	for _, worker := range []string{filepath.Join(dir, "doubler-go"), "../doubler.sh", "../doubler.py"} {
		t.Run(filepath.Base(worker), func(t *testing.T) {
			out := captureStdout(t, func() {
				if err := run(worker, 2); err != nil {
					t.Fatalf("quickstart with %s: %v", worker, err)
				}
			})
			if strings.TrimSpace(out) != "[10 20 30 40 50]" {
				t.Fatalf("quickstart printed %q", out)
			}
		})
	}
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		io.Copy(&b, r)
		done <- b.String()
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	os.Stdout = old
	return <-done
}
