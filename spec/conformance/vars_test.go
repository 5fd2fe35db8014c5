package conformance

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCaseVars(t *testing.T) {
	c, err := ParseCase([]byte(`{"name":"x","steps":[
		{"send":{"cmd":"${CMD}","args":"${ARGS}","lit":"$${CMD}","${KEY}":1}},
		{"expect":{"result":{"task":"${T}"}}},
		{"send":{"task":"${T}","again":"${CMD}"}},
		{"expect_unordered":[{"m":"${M}"}]},
		{"send":{"map":"${M}","late":"${LATE}"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	// T and M are captured before they are sent; keys and "$${…}" are not
	// variables.
	if got, want := c.Vars(), []string{"ARGS", "CMD", "LATE"}; !slices.Equal(got, want) {
		t.Errorf("Vars() = %q, want %q", got, want)
	}
}

func TestSubstitute(t *testing.T) {
	c, err := ParseCase([]byte(`{"name":"x","steps":[{"send": {"b": 1.50, "a": "${X}", "k": {"${X}": "$${X}", "s": "a\"${X}\""}, "n": ["${N}", "$x", "$${X"]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := substitute(c.Steps[0].Send, map[string]any{"X": []any{1, "<y>"}, "N": nil})
	if err != nil {
		t.Fatal(err)
	}
	// Only whole-string values are replaced; the rest is kept byte for byte.
	want := `{"b":1.50,"a":[1,"\u003cy\u003e"],"k":{"${X}":"${X}","s":"a\"${X}\""},"n":[null,"$x","$${X"]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := substitute([]byte(`{"a":"${Y}"}`), nil); err == nil || !strings.Contains(err.Error(), "${Y} has no value") {
		t.Errorf("missing variable: err = %v", err)
	}
}

// fakePeer is a Transport that records what it is sent and answers with
// lines made from it.
type fakePeer struct {
	sent    []string
	replies []string
	answer  func(sent string) []string // lines to queue after each Send
}

func (f *fakePeer) Send(_ context.Context, line []byte) error {
	f.sent = append(f.sent, string(line))
	if f.answer != nil {
		f.replies = append(f.replies, f.answer(string(line))...)
	}
	return nil
}

func (f *fakePeer) Next(ctx context.Context) ([]byte, error) {
	if len(f.replies) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	line := f.replies[0]
	f.replies = f.replies[1:]
	return []byte(line), nil
}

func (f *fakePeer) CloseSend() error { return nil }

func runSteps(t *testing.T, steps string, peer *fakePeer, vars map[string]any) Result {
	t.Helper()
	c, err := ParseCase([]byte(`{"name":"x","steps":[` + steps + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), peer, c, Options{Timeout: 200 * time.Millisecond, Vars: vars})
}

func TestRunVars(t *testing.T) {
	const steps = `{"send":{"id":1,"method":"pool.create","params":{"command":"${CMD}","args":"${ARGS}"}}},
		{"expect":{"jsonrpc":"2.0","id":1,"result":{"task":"${T}","command":"${CMD}"}}},
		{"send":{"id":2,"params":{"task":"${T}"}}}`
	reply := `{"jsonrpc":"2.0","id":1,"result":{"task":"t-9","command":"/bin/dbl"}}`

	peer := &fakePeer{replies: []string{reply}}
	r := runSteps(t, steps, peer, map[string]any{"CMD": "/bin/dbl", "ARGS": []string{"-x"}})
	if !r.Pass {
		t.Fatal(r)
	}
	want := []string{
		`{"id":1,"method":"pool.create","params":{"command":"/bin/dbl","args":["-x"]}}`,
		`{"id":2,"params":{"task":"t-9"}}`,
	}
	if !slices.Equal(peer.sent, want) {
		t.Errorf("sent %q\nwant %q", peer.sent, want)
	}

	// A given variable in a pattern must equal its value.
	r = runSteps(t, steps, &fakePeer{replies: []string{reply}}, map[string]any{"CMD": "/bin/other", "ARGS": nil})
	if r.Pass || !strings.Contains(r.Reason, `step 2 (expect): result.command: expected ${CMD} = "/bin/other", got "/bin/dbl"`) {
		t.Errorf("got %s", r)
	}

	// A variable with no value fails the case before anything is sent.
	peer = &fakePeer{}
	r = runSteps(t, steps, peer, map[string]any{"ARGS": nil})
	if r.Pass || !strings.Contains(r.Reason, "needs a value for CMD") || len(peer.sent) > 0 {
		t.Errorf("got %s, sent %q", r, peer.sent)
	}
	if r := RunCommand(context.Background(), Command{Path: "./no-such-worker"}, Case{Name: "x", Steps: []Step{{Send: []byte(`{"a":"${V}"}`)}}}, Options{}); r.Pass || !strings.Contains(r.Reason, "needs a value for V") {
		t.Errorf("RunCommand: got %s", r)
	}
}

func TestExpectUnordered(t *testing.T) {
	const send = `{"send":{"id":3,"method":"pool.submit"}},`
	const two = `{"expect_unordered":[
		{"id":3,"result":{"task":"${T}"}},
		{"method":"task.done","params":{"task":"${T}","result":14}}]},
		{"send":{"wait":"${T}"}}`
	reply := `{"jsonrpc":"2.0","id":3,"result":{"task":"t-1"}}`
	done := `{"jsonrpc":"2.0","method":"task.done","params":{"task":"t-1","result":14}}`
	for _, order := range [][]string{{reply, done}, {done, reply}, {"noise", done, "", reply}} {
		peer := &fakePeer{replies: order}
		r := runSteps(t, send+two, peer, nil)
		if !r.Pass {
			t.Errorf("%q: %s", order, r)
		}
		// What the patterns captured together is kept.
		if got := peer.sent[len(peer.sent)-1]; got != `{"wait":"t-1"}` {
			t.Errorf("%q: sent %s", order, got)
		}
	}

	tests := []struct {
		name    string
		replies []string
		steps   string
		reason  string
	}{
		{"stray message", []string{`{"jsonrpc":"2.0","id":4,"result":{}}`, done}, two,
			`step 2 (expect_unordered): message 1 matches none of the patterns (pattern 1: id: expected 3, got 4; pattern 2: method: expected "task.done", got nothing (key absent)); the message was {"jsonrpc":"2.0","id":4`},
		{"captures disagree", []string{reply, strings.Replace(done, "t-1", "t-2", 1)}, two,
			"step 2 (expect_unordered): each of the 2 messages matches a pattern, but they do not match the patterns one to one"},
		{"not one to one", []string{reply, reply}, two, "do not match the patterns one to one"},
		{"too few", []string{done}, two, "step 2 (expect_unordered): no message within 200ms: got 1 of the 2 expected in any order"},
		{"given variable", []string{reply, done}, `{"expect_unordered":[{"id":3},{"params":{"result":"${R}"}}]}`,
			`pattern 2: params.result: expected ${R} = 15, got 14`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runSteps(t, send+tt.steps, &fakePeer{replies: tt.replies}, map[string]any{"R": 15})
			if r.Pass || !strings.Contains(r.Reason, tt.reason) {
				t.Errorf("got %s\nwant a failure containing %s", r, tt.reason)
			}
		})
	}
}

// A supervisor gets no worker identity, and Close lets it see the end of its
// input and exit before anything is killed.
func TestSupervisorCommand(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "shut-down")
	script := `printf '{"jsonrpc":"2.0","id":1,"result":"%s"}\n' "${CORRAL_WORKER_ID-none}${CORRAL_POOL-}"; cat >/dev/null; sleep 0.2; echo ok > "$1"`
	c, err := ParseCase([]byte(`{"name":"x","steps":[{"expect":{"id":1,"result":"none"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(Command{Path: "sh", Args: []string{"-c", script, "sh", marker}, Supervisor: true})
	if err != nil {
		t.Fatal(err)
	}
	r := Run(context.Background(), p, c, Options{})
	p.Close()
	if !r.Pass {
		t.Error(r)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the supervisor did not get to shut down: %v", err)
	}

	if _, err := Start(Command{Path: "sh", Supervisor: true, FDs: true}); err == nil || !strings.Contains(err.Error(), "FDs must be false") {
		t.Errorf("FDs with Supervisor: err = %v", err)
	}
	c, _ = ParseCase([]byte(`{"name":"x","steps":[{"expect":{}}]}`))
	r = RunCommand(context.Background(), Command{Path: "sh", Args: []string{"-c", "exit 4"}, Supervisor: true}, c, Options{})
	if r.Pass || !strings.Contains(r.Reason, "the supervisor closed its output: it exited with code 4") {
		t.Errorf("got %s", r)
	}
}

func TestSupervisorCases(t *testing.T) {
	cases, err := SupervisorCases()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no supervisor cases")
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("case %q twice", c.Name)
		}
		seen[c.Name] = true
		if c.Set != SupervisorSet || c.Description == "" {
			t.Errorf("%s/%s: set %q, description %q", c.Set, c.Name, c.Set, c.Description)
		}
		// The runners give these, and only these.
		for _, v := range c.Vars() {
			if v != "DOUBLER" && v != "DOUBLER_ARGS" {
				t.Errorf("%s needs variable %s, which no runner gives", c.Name, v)
			}
		}
	}
	if slices.Contains(Sets(), SupervisorSet) {
		t.Errorf("Sets() = %v: check-worker would run the supervisor cases against a worker", Sets())
	}
	if _, err := Cases(SupervisorSet); err == nil || !strings.Contains(err.Error(), "runs against a supervisor") {
		t.Errorf("Cases(%q): err = %v", SupervisorSet, err)
	}
}
