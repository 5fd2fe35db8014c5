package corral

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/corralhq/corral/protocol"
)

func TestProcess(t *testing.T) {
	c := startClient(t)
	ctx := testCtx(t)

	p, err := c.StartProcess(ctx, protocol.ProcessSpec{Name: "three", Command: "sh", Args: []string{"-c", "exit 3"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "three" || p.Pid() <= 0 {
		t.Fatalf("process %q pid %d", p.Name(), p.Pid())
	}
	if code, err := p.Join(ctx); err != nil || code != 3 {
		t.Fatalf("Join = %d, %v", code, err)
	}
	if code, err := p.ExitCode(ctx); err != nil || code == nil || *code != 3 {
		t.Fatalf("ExitCode = %v, %v", code, err)
	}

	s, err := c.StartProcess(ctx, protocol.ProcessSpec{Command: "sleep", Args: []string{"30"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() == "" {
		t.Fatal("the supervisor named no process")
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := s.Join(short); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Join of a running process = %v, want ErrTimeout", err)
	}
	if alive, err := s.IsAlive(ctx); !alive || err != nil {
		t.Fatalf("IsAlive = %v, %v", alive, err)
	}
	if code, err := s.ExitCode(ctx); code != nil || err != nil {
		t.Fatalf("ExitCode of a running process = %v, %v", code, err)
	}
	list, err := c.Processes(ctx)
	if err != nil || !slices.ContainsFunc(list, func(i protocol.ProcessInfo) bool { return i.Name == s.Name() && i.Alive }) {
		t.Fatalf("Processes = %+v, %v", list, err)
	}
	if err := s.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if code, err := s.Join(ctx); err != nil || code != -9 {
		t.Fatalf("Join after Kill = %d, %v", code, err)
	}
	if alive, err := s.IsAlive(ctx); alive || err != nil {
		t.Fatalf("IsAlive after Kill = %v, %v", alive, err)
	}

	term, err := c.StartProcess(ctx, protocol.ProcessSpec{Command: "sleep", Args: []string{"30"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := term.Terminate(ctx); err != nil {
		t.Fatal(err)
	}
	if code, err := term.Join(ctx); err != nil || code != -15 {
		t.Fatalf("Join after Terminate = %d, %v", code, err)
	}

	if _, err := c.StartProcess(ctx, protocol.ProcessSpec{Command: "/no/such/program"}); !errors.Is(err, ErrSpawnFailed) {
		t.Fatalf("StartProcess of a missing program = %v", err)
	}
	if _, err := c.Process("nope").Status(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Status of a missing process = %v", err)
	}
}
