package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

func TestStatus(t *testing.T) {
	cmd, sock, _, _ := serveOnSocket(t, 2)
	for _, it := range []string{`"a"`, `"b"`, `"c"`} {
		mustCtl(t, sock, "queue", "put", "jobs", it)
	}
	mustCtl(t, sock, "object", "create", "semaphore", "gpu", `{"value":2}`)

	// Run status while with-lock holds db: the holder is that ctl.
	out, errs, code := runCtl(t, sock, "ctl", "with-lock", "db", "--", corralBin, "status")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"pid " + strconv.Itoa(cmd.Process.Pid), "socket " + sock, "version " + version,
		"pools (1)", "processes (0)", "objects (3)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	for _, re := range []string{
		`(?m)^\s+d\s+\S+\s+2\s+\d+\s+\d+\s+\d+`, // pool d, 2 workers
		`(?m)^\s+queue\s+jobs\s+3\s`,            // depth 3
		`(?m)^\s+lock\s+db\s+-\s+ctl\[\d+\]`,    // held by the with-lock ctl
		`(?m)^\s+semaphore\s+gpu\s`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status does not match %s:\n%s", re, out)
		}
	}

	out = mustStatus(t, sock, "--json")
	var st protocol.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("--json is not JSON: %v\n%s", err, out)
	}
	if st.Pid != cmd.Process.Pid || st.Socket != sock || len(st.Pools) != 1 || st.Pools[0].Name != "d" || len(st.Objects) != 3 {
		t.Fatalf("--json: %+v", st)
	}

	if _, errs, code := runCtl(t, "", "status"); code != 3 || !strings.Contains(errs, "CORRAL_SOCKET") {
		t.Fatalf("status without a socket: exit %d: %s", code, errs)
	}
	if _, errs, code := runCtl(t, sock, "status", "extra"); code != 2 || !strings.Contains(errs, `unexpected argument "extra"`) {
		t.Fatalf("status extra: exit %d: %s", code, errs)
	}
	if out, _, code := runCtl(t, "", "status", "--socket", sock); code != 0 || !strings.Contains(out, "jobs") {
		t.Fatalf("status --socket: exit %d: %s", code, out)
	}
}

func mustStatus(t *testing.T, sock string, args ...string) string {
	t.Helper()
	out, errs, code := runCtl(t, sock, append([]string{"status"}, args...)...)
	if code != 0 {
		t.Fatalf("corral status %q: exit %d: %s", args, code, errs)
	}
	return out
}
