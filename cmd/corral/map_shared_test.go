package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Jobs of corral map reach shared state through the run's own supervisor:
// forty jobs, four at a time, each bump a counter file under
// `corral ctl with-lock`; none of the read-modify-writes is lost.
func TestMapJobsShareALock(t *testing.T) {
	dir := t.TempDir()
	counter := filepath.Join(dir, "n")
	script := `x=$(cat "$1" 2>/dev/null || echo 0); sleep 0.01; echo $((x+1)) > "$1"`
	args := []string{"map", "-j4", "--", "sh", "-c",
		`"$0" ctl with-lock L -- sh -c "$1" sh "$2"`, corralBin, script, counter, ":::"}
	for i := 0; i < 40; i++ {
		args = append(args, "x")
	}
	cmd := exec.Command(corralBin, args...)
	cmd.Env = withoutEnv(os.Environ(), "CORRAL_SOCKET")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("corral map: %v\n%s", err, out)
	}
	got, err := os.ReadFile(counter)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != "40" {
		t.Fatalf("counter = %q, want 40 (a lost update means the lock did not hold)", got)
	}
}

func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
