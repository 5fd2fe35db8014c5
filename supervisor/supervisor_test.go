package supervisor

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	json "github.com/segmentio/encoding/json"
	"go.uber.org/goleak"

	"github.com/corralhq/corral/internal/testworker"
	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

func TestMain(m *testing.M) {
	testworker.MainIfWorker()
	goleak.VerifyTestMain(m)
}

// logBuffer collects the supervisor's log for assertions.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, string(p))
	l.mu.Unlock()
	return len(p), nil
}

func newSupervisor(t *testing.T, cfg *Config) (*Supervisor, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s, err := New(Options{Config: cfg, Log: zerolog.New(logs), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// testClient speaks raw NDJSON to the supervisor's socket.
type testClient struct {
	t     *testing.T
	conn  net.Conn
	r     *bufio.Reader
	id    int
	notes []map[string]json.RawMessage
	early map[string]map[string]json.RawMessage // responses read while waiting for another
}

func dial(t *testing.T, s *Supervisor) *testClient {
	t.Helper()
	c := dialRaw(t, s)
	if _, err := c.call(protocol.MethodHello, protocol.HelloParams{Protocol: protocol.Version, Role: "client", Name: t.Name()}); err != nil {
		t.Fatalf("hello: %v", err)
	}
	return c
}

func dialRaw(t *testing.T, s *Supervisor) *testClient {
	t.Helper()
	conn, err := net.Dial("unix", s.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &testClient{t: t, conn: conn, r: bufio.NewReaderSize(conn, 1<<20), early: map[string]map[string]json.RawMessage{}}
}

func (c *testClient) send(line string) {
	c.t.Helper()
	if _, err := c.conn.Write([]byte(line + "\n")); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *testClient) readMsg(timeout time.Duration) map[string]json.RawMessage {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(timeout))
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil {
		c.t.Fatalf("bad line from supervisor: %s", line)
	}
	return m
}

// start sends a request and returns its id.
func (c *testClient) start(method string, params any) string {
	c.t.Helper()
	c.id++
	p, _ := json.Marshal(params)
	id := itoa(c.id)
	c.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `","params":` + string(p) + `}`)
	return id
}

// wait reads until the response to id, keeping notifications and other
// responses for later.
func (c *testClient) wait(id string, timeout time.Duration) (json.RawMessage, *jsonrpc.Error) {
	c.t.Helper()
	m, ok := c.early[id]
	delete(c.early, id)
	for !ok {
		msg := c.readMsg(timeout)
		if _, isNote := msg["method"]; isNote {
			c.notes = append(c.notes, msg)
			continue
		}
		got := string(msg["id"])
		if got == id {
			m, ok = msg, true
		} else {
			c.early[got] = msg
		}
	}
	if e, ok := m["error"]; ok {
		var rerr jsonrpc.Error
		json.Unmarshal(e, &rerr)
		return nil, &rerr
	}
	return m["result"], nil
}

func (c *testClient) call(method string, params any) (json.RawMessage, *jsonrpc.Error) {
	c.t.Helper()
	return c.wait(c.start(method, params), 20*time.Second)
}

func (c *testClient) mustCall(method string, params any, out any) {
	c.t.Helper()
	res, err := c.call(method, params)
	if err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			c.t.Fatalf("%s: decode %s: %v", method, res, err)
		}
	}
}

func (c *testClient) createPool(spec protocol.PoolSpec) protocol.PoolCreateResult {
	c.t.Helper()
	var res protocol.PoolCreateResult
	c.mustCall(protocol.MethodPoolCreate, spec, &res)
	return res
}

func (c *testClient) apply(pool, fn string, args ...any) (json.RawMessage, *jsonrpc.Error) {
	c.t.Helper()
	if args == nil {
		args = []any{}
	}
	a, _ := json.Marshal(args)
	res, err := c.call(protocol.MethodPoolApply, protocol.SubmitParams{Pool: pool, Fn: fn, Args: a})
	if err != nil {
		return nil, err
	}
	var r protocol.TaskResult
	json.Unmarshal(res, &r)
	return r.Result, nil
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func errData(t *testing.T, e *jsonrpc.Error) protocol.ErrorData {
	t.Helper()
	var d protocol.ErrorData
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatalf("error data %s: %v", e.Data, err)
		}
	}
	return d
}

// waitLog waits for a log line containing every one of parts.
func waitLog(t *testing.T, logs *logBuffer, parts ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs.mu.Lock()
		lines := logs.lines
		logs.mu.Unlock()
		for _, l := range lines {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(l, p)
			}
			if ok {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q", parts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
