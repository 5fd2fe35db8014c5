package child

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestExitCodes(t *testing.T) {
	s := NewSpawner()
	defer s.Close()
	tests := []struct {
		script string
		code   int
		sig    syscall.Signal
	}{
		{"exit 0", 0, 0},
		{"exit 3", 3, 0},
		{"kill -9 $$", -1, syscall.SIGKILL},
		{"kill -TERM $$", -1, syscall.SIGTERM},
	}
	for _, tt := range tests {
		p, err := s.Start(Spec{Path: "sh", Args: []string{"-c", tt.script}})
		if err != nil {
			t.Fatal(err)
		}
		e := p.Exit()
		if e.Code != tt.code || e.Signal != tt.sig {
			t.Errorf("%s: got %+v", tt.script, e)
		}
		if tt.sig != 0 && e.ExitCode() != -int(tt.sig) {
			t.Errorf("%s: ExitCode() = %d", tt.script, e.ExitCode())
		}
	}
}

func TestMissingCommand(t *testing.T) {
	s := NewSpawner()
	defer s.Close()
	_, err := s.Start(Spec{Path: "corral-no-such-command"})
	if err == nil || !strings.Contains(err.Error(), "corral-no-such-command") {
		t.Fatalf("got %v", err)
	}
}

// Stop reaches grandchildren too, and escalates to SIGKILL for a child that
// ignores SIGTERM.
func TestStopKillsGroup(t *testing.T) {
	s := NewSpawner()
	defer s.Close()
	r, w, _ := os.Pipe()
	defer r.Close()
	p, err := s.Start(Spec{Path: "sh", Args: []string{"-c", `trap "" TERM; sleep 60 & echo $!; wait`}, Stdout: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 32)
	n, _ := r.Read(buf)
	var grandchild int
	for _, c := range strings.TrimSpace(string(buf[:n])) {
		grandchild = grandchild*10 + int(c-'0')
	}
	start := time.Now()
	e := p.Stop(200 * time.Millisecond)
	if e.Signal != syscall.SIGKILL {
		t.Fatalf("child ignoring TERM: exit %+v, want SIGKILL", e)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("Stop returned after %v, before the grace period", el)
	}
	deadline := time.Now().Add(2 * time.Second)
	for Alive(grandchild) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d survived Stop", grandchild)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
