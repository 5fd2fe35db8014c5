package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func checkWorker(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := (&CheckWorkerCommand{Stdout: &out, Stderr: &errOut}).Run(context.Background(), args)
	return out.String() + errOut.String(), err
}

func TestCheckWorkerPasses(t *testing.T) {
	for _, fds := range []string{"--fds=false", "--fds=true"} {
		out, err := checkWorker(t, fds, "--cases", "worker,doubler", "--", "../../examples/doubler.sh")
		if err != nil {
			t.Fatalf("%s: %v\n%s", fds, err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasSuffix(lines[len(lines)-1], " passed, 0 failed") || !strings.Contains(out, "PASS hello\n") || !strings.Contains(out, "PASS double-map\n") {
			t.Errorf("%s: output:\n%s", fds, out)
		}
	}
}

func TestCheckWorkerFailsCat(t *testing.T) {
	out, err := checkWorker(t, "--timeout", "2s", "--", "cat")
	if err == nil || !strings.Contains(err.Error(), "cases failed") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if strings.Contains(out, "PASS") || !strings.Contains(out, "FAIL hello: step 2 (expect): the peer echoed our message back") ||
		!strings.HasSuffix(out, "\n0 passed, 12 failed\n") {
		t.Errorf("output:\n%s", out)
	}
}

func TestCheckWorkerUsage(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{nil, "no worker command"},
		{[]string{"--cases", "nope", "--", "cat"}, `no case set "nope" (have doubler, worker)`},
		{[]string{"--", "./no-such-worker"}, "no-such-worker"},
		{[]string{"--bogus", "--", "cat"}, ""},
	}
	for _, tt := range tests {
		out, err := checkWorker(t, tt.args...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || (tt.msg != "" && !strings.Contains(err.Error(), tt.msg)) {
			t.Errorf("%q: err = %v, want exit status 2 saying %q\n%s", tt.args, err, tt.msg, out)
		}
	}
}
