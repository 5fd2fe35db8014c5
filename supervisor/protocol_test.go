package supervisor

import (
	"os"
	"strings"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

func TestHandshake(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dialRaw(t, s)
	tests := []struct {
		method string
		params any
		code   int64
		msg    string
	}{
		{protocol.MethodPoolStats, protocol.PoolRef{Pool: "x"}, protocol.CodeNotInitialized, "send corral.hello first"},
		{protocol.MethodHello, map[string]any{"protocol": "corral/99", "role": "client"}, protocol.CodeVersionMismatch, `peer speaks "corral/99"`},
		{protocol.MethodHello, map[string]any{"role": "client"}, protocol.CodeInvalidParams, `"protocol" is required`},
		{protocol.MethodHello, map[string]any{"protocol": "corral/1", "role": "boss"}, protocol.CodeInvalidParams, `"role"`},
	}
	for _, tt := range tests {
		_, err := c.call(tt.method, tt.params)
		if err == nil || err.Code != tt.code || !strings.Contains(err.Message, tt.msg) {
			t.Errorf("%s %v: got %v; want code %d with %q", tt.method, tt.params, err, tt.code, tt.msg)
		}
	}
	var hello protocol.HelloResult
	c.mustCall(protocol.MethodHello, protocol.HelloParams{Protocol: protocol.Version, Role: "client"}, &hello)
	if hello.Protocol != "corral/1" || hello.Socket != s.SocketPath() || hello.Version != "test" || hello.Role != "supervisor" {
		t.Fatalf("hello result %+v", hello)
	}
}

func TestSocketIsPrivate(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	fi, err := os.Stat(s.SocketPath())
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(s.socketDir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("socket dir mode %v, want 0700", di.Mode().Perm())
	}
}

func TestBadInput(t *testing.T) {
	s, _ := newSupervisor(t, &Config{MaxMessage: 4096})
	c := dial(t, s)
	steps := []struct {
		send string
		code int64
		msg  string
	}{
		{`{"jsonrpc":"2.0","id":1,"method":"pool.stats","params":{"pool":`, protocol.CodeParseError, "not valid JSON"},
		{`{"jsonrpc":"2.0","id":2,"method":"pool.nope","params":{}}`, protocol.CodeMethodNotFound, `"pool.nope"`},
		{`{"jsonrpc":"2.0","id":3,"method":"pool.stats","params":{"pool":7}}`, protocol.CodeInvalidParams, `field "pool"`},
		{`{"jsonrpc":"2.0","id":4,"method":"pool.stats","params":{"pool":"p","extra":1}}`, protocol.CodeInvalidParams, `unknown field "extra"`},
		{`{"jsonrpc":"2.0","id":5,"method":"pool.stats"}`, protocol.CodeInvalidParams, "params object is required"},
		{`{"jsonrpc":"2.0","id":6,"method":"pool.submit","params":{"pool":"p"}}`, protocol.CodeInvalidParams, `field "fn" is required`},
		{`{"jsonrpc":"2.0","id":7,"method":"pool.submit","params":{"pool":"p","fn":"f","args":5}}`, protocol.CodeInvalidParams, `field "args": want an array`},
		{`{"jsonrpc":"2.0","id":8,"method":"task.wait","params":{"task":"t-1","timeout":-1}}`, protocol.CodeInvalidParams, "non-negative"},
		{`{"jsonrpc":"2.0","id":9,"method":"task.wait","params":{"task":"t-1","timeout":"soon"}}`, protocol.CodeInvalidParams, "duration"},
		{`{"jsonrpc":"2.0","id":10,"method":"pool.stats","params":{"pool":"none"}}`, protocol.CodeNotFound, `no pool named "none"`},
		{`{"jsonrpc":"2.0","id":11,"method":"pool.create","params":{"name":"p","command":"x","workers":-1}}`, protocol.CodeInvalidParams, `"workers"`},
		{`{"jsonrpc":"2.0","id":12,"method":"pool.create","params":{"name":"a\u0001b","command":"x"}}`, protocol.CodeInvalidParams, "control character"},
		{`{"jsonrpc":"2.0","id":13,"method":"pool.create","params":{"name":"` + strings.Repeat("n", 256) + `","command":"x"}}`, protocol.CodeInvalidParams, "limit is 255"},
	}
	for _, st := range steps {
		c.send(st.send)
		m := c.readMsg(5 * time.Second)
		var e struct {
			Code    int64
			Message string
		}
		json.Unmarshal(m["error"], &e)
		if e.Code != st.code || !strings.Contains(e.Message, st.msg) {
			t.Errorf("%s\n  got %s; want code %d with %q", st.send, m["error"], st.code, st.msg)
		}
	}
	// A notification runs nothing and gets no reply.
	c.send(`{"jsonrpc":"2.0","method":"pool.create","params":{"name":"ghost","command":"sleep"}}`)
	// The connection still works after all that.
	var st protocol.Status
	c.mustCall(protocol.MethodStatus, map[string]any{}, &st)
	if len(st.Pools) != 0 {
		t.Fatalf("a notification created a pool: %+v", st.Pools)
	}
	// An oversize line: an error, then the connection is closed...
	c.send(`{"jsonrpc":"2.0","id":99,"method":"corral.status","params":{"pad":"` + strings.Repeat("x", 5000) + `"}}`)
	m := c.readMsg(5 * time.Second)
	if !strings.Contains(string(m["error"]), `"code":-32003`) {
		t.Fatalf("oversize: got %v", m)
	}
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.r.ReadByte(); err == nil {
		t.Fatal("connection still open after an oversize message")
	}
	// ...and the supervisor serves others as before.
	c2 := dial(t, s)
	if _, err := c2.call(protocol.MethodStatus, map[string]any{}); err != nil {
		t.Fatalf("status on a new connection: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"[pool.a]\ncommand = \"x\"\nworkerz = 2\n", []string{"c.toml:3: unknown key \"pool.a.workerz\""}},
		{"[pool.a]\ncommand = \"x\"\nworkers = \"two\"\n", []string{"c.toml:3", "workers"}},
		{"[pool.a]\nworkers = 2\n", []string{"c.toml:1: [pool.a]", `"command" is required`}},
		{"bogus = 1\n[pool.a]\ncommand = \"x\"\ntask_timeout = \"soon\"\n", []string{"c.toml:4", "task_timeout"}},
		{"[pool.a]\ncommand = \"x\"\nmode = \"weird\"\n[pool.b]\ncommand = \"y\"\nstdio = \"tty\"\n", []string{"c.toml:1: [pool.a]", "c.toml:4: [pool.b]"}},
	}
	for _, tt := range tests {
		_, err := ParseConfig("c.toml", []byte(tt.src))
		if err == nil {
			t.Errorf("%q: no error", tt.src)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q:\n%v\nwant it to mention %q", tt.src, err, w)
			}
		}
	}
	cfg, err := ParseConfig("c.toml", []byte("max_message = 1000\n[pool.a]\ncommand = \"x\"\nworkers = 3\ntask_timeout = \"1.5s\"\nrestart_period = 20\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Pools["a"]
	if a.Name != "a" || a.Workers != 3 || a.TaskTimeout.Duration() != 1500*time.Millisecond || a.RestartPeriod.Duration() != 20*time.Second || a.RestartIntensity != 5 {
		t.Fatalf("parsed %+v", a)
	}
}
