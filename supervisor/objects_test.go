package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
	ss "github.com/corralhq/corral/sharedstate"
)

// dialAs is dial with a hello name of one's own, so that holders can be
// told apart in status and logs.
func dialAs(t *testing.T, s *Supervisor, name string) *testClient {
	t.Helper()
	c := dialRaw(t, s)
	if _, err := c.call(protocol.MethodHello, protocol.HelloParams{Protocol: protocol.Version, Role: "client", Name: name}); err != nil {
		t.Fatalf("hello: %v", err)
	}
	return c
}

// compact normalises JSON for comparison.
func compact(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("bad JSON %s: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// raw params as a JSON text, so tests spell what goes on the wire.
type P = json.RawMessage

// step is one call of a table: want is the result as JSON, or code the
// error code expected (with errType the data.type, when set).
type step struct {
	method  string
	params  string
	want    string
	code    int64
	errType string
}

func runSteps(t *testing.T, c *testClient, steps []step) {
	t.Helper()
	for i, st := range steps {
		res, err := c.call(st.method, P(st.params))
		if st.code != 0 {
			if err == nil || err.Code != st.code {
				t.Fatalf("step %d %s %s: want error %d, got %s / %v", i, st.method, st.params, st.code, res, err)
			}
			if st.errType != "" {
				var d protocol.ObjectErrorData
				json.Unmarshal(err.Data, &d)
				if d.Type != st.errType {
					t.Fatalf("step %d %s %s: want data.type %q, got %s", i, st.method, st.params, st.errType, err.Data)
				}
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d %s %s: %v", i, st.method, st.params, err)
		}
		if st.want != "" && compact(t, res) != compact(t, []byte(st.want)) {
			t.Fatalf("step %d %s %s: got %s, want %s", i, st.method, st.params, res, st.want)
		}
	}
}

func TestObjectOpsEachFamily(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	c := dial(t, s)
	const (
		valueErr = protocol.CodeValueError
	)
	families := map[string][]step{
		"queue": {
			{method: "object.create", params: `{"kind":"joinablequeue","name":"q","params":{"maxsize":2}}`, want: `{"kind":"joinablequeue","name":"q"}`},
			{method: "object.create", params: `{"kind":"joinablequeue","name":"q","params":{"maxsize":2}}`, want: `{"kind":"joinablequeue","name":"q"}`},
			{method: "object.create", params: `{"kind":"joinablequeue","name":"q","params":{"maxsize":3}}`, code: protocol.CodeConflict},
			{method: "queue.empty", params: `{"name":"q"}`, want: `{"empty":true}`},
			{method: "queue.put", params: `{"name":"q","item":{"a":[1,2]}}`, want: `{"maxsize":2}`},
			{method: "queue.put_nowait", params: `{"name":"q","item":"x"}`, want: `{"maxsize":2}`},
			{method: "queue.full", params: `{"name":"q"}`, want: `{"full":true}`},
			{method: "queue.put", params: `{"name":"q","item":3,"block":false}`, code: protocol.CodeFull, errType: "Full"},
			{method: "queue.qsize", params: `{"name":"q"}`, want: `{"size":2}`},
			{method: "queue.get", params: `{"name":"q"}`, want: `{"item":{"a":[1,2]}}`},
			{method: "queue.get_nowait", params: `{"name":"q"}`, want: `{"item":"x"}`},
			{method: "queue.get", params: `{"name":"q","block":false}`, code: protocol.CodeEmpty, errType: "Empty"},
			{method: "queue.join", params: `{"name":"q","timeout":0}`, code: protocol.CodeTimeout},
			{method: "queue.task_done", params: `{"name":"q"}`, want: `{}`},
			{method: "queue.task_done", params: `{"name":"q"}`, want: `{}`},
			{method: "queue.task_done", params: `{"name":"q"}`, code: valueErr, errType: "ValueError"},
			{method: "queue.join", params: `{"name":"q"}`, want: `{}`},
			{method: "queue.close", params: `{"name":"q"}`, want: `{}`},
			{method: "queue.put", params: `{"name":"q","item":1}`, code: protocol.CodeClosed},
			{method: "queue.put", params: `{"name":"plain","item":1}`, want: `{"maxsize":0}`},
			{method: "queue.task_done", params: `{"name":"plain"}`, code: protocol.CodeWrongKind},
		},
		"lock": {
			{method: "lock.acquire", params: `{"name":"l"}`, want: `{"acquired":true}`},
			{method: "lock.locked", params: `{"name":"l"}`, want: `{"locked":true}`},
			{method: "lock.acquire", params: `{"name":"l","block":false}`, want: `{"acquired":false}`},
			{method: "lock.release", params: `{"name":"l"}`, want: `{}`},
			{method: "lock.release", params: `{"name":"l"}`, code: protocol.CodeNotOwner, errType: "RuntimeError"},
			{method: "object.create", params: `{"kind":"rlock","name":"rl"}`, want: `{"kind":"rlock","name":"rl"}`},
			{method: "lock.acquire", params: `{"name":"rl"}`, want: `{"acquired":true}`},
			{method: "lock.acquire", params: `{"name":"rl","timeout":0}`, want: `{"acquired":true}`},
			{method: "lock.release", params: `{"name":"rl"}`, want: `{}`},
			{method: "lock.locked", params: `{"name":"rl"}`, want: `{"locked":true}`},
			{method: "lock.release", params: `{"name":"rl"}`, want: `{}`},
			{method: "lock.locked", params: `{"name":"rl"}`, want: `{"locked":false}`},
		},
		"semaphore": {
			{method: "object.create", params: `{"kind":"boundedsemaphore","name":"sem","params":{"value":2}}`, want: `{"kind":"boundedsemaphore","name":"sem"}`},
			{method: "semaphore.acquire", params: `{"name":"sem"}`, want: `{"acquired":true}`},
			{method: "semaphore.value", params: `{"name":"sem"}`, want: `{"value":1}`},
			{method: "semaphore.acquire", params: `{"name":"sem"}`, want: `{"acquired":true}`},
			{method: "semaphore.acquire", params: `{"name":"sem","timeout":0.01}`, want: `{"acquired":false}`},
			{method: "semaphore.release", params: `{"name":"sem"}`, want: `{}`},
			{method: "semaphore.release", params: `{"name":"sem"}`, want: `{}`},
			{method: "semaphore.release", params: `{"name":"sem"}`, code: valueErr, errType: "ValueError"},
			{method: "semaphore.value", params: `{"name":"sem"}`, want: `{"value":2}`},
		},
		"event": {
			{method: "event.is_set", params: `{"name":"ev"}`, want: `{"set":false}`},
			{method: "event.wait", params: `{"name":"ev","timeout":0}`, want: `{"set":false}`},
			{method: "event.set", params: `{"name":"ev"}`, want: `{}`},
			{method: "event.wait", params: `{"name":"ev"}`, want: `{"set":true}`},
			{method: "event.clear", params: `{"name":"ev"}`, want: `{}`},
			{method: "event.is_set", params: `{"name":"ev"}`, want: `{"set":false}`},
		},
		"condition": {
			{method: "condition.wait", params: `{"name":"cv","timeout":0.01}`, code: protocol.CodeNotOwner},
			{method: "condition.notify", params: `{"name":"cv"}`, code: protocol.CodeNotOwner},
			{method: "condition.acquire", params: `{"name":"cv"}`, want: `{"acquired":true}`},
			{method: "condition.notify", params: `{"name":"cv","n":2}`, want: `{}`},
			{method: "condition.notify_all", params: `{"name":"cv"}`, want: `{}`},
			{method: "condition.wait", params: `{"name":"cv","timeout":0.01}`, want: `{"notified":false}`},
			{method: "condition.release", params: `{"name":"cv"}`, want: `{}`},
		},
		"barrier": {
			{method: "barrier.wait", params: `{"name":"nb"}`, code: protocol.CodeNotFound},
			{method: "object.create", params: `{"kind":"barrier","name":"b","params":{"parties":1}}`, want: `{"kind":"barrier","name":"b"}`},
			{method: "barrier.wait", params: `{"name":"b"}`, want: `{"index":0}`},
			{method: "barrier.parties", params: `{"name":"b"}`, want: `{"parties":1}`},
			{method: "barrier.n_waiting", params: `{"name":"b"}`, want: `{"n_waiting":0}`},
			{method: "barrier.abort", params: `{"name":"b"}`, want: `{}`},
			{method: "barrier.broken", params: `{"name":"b"}`, want: `{"broken":true}`},
			{method: "barrier.wait", params: `{"name":"b"}`, code: protocol.CodeBrokenBarrier, errType: "BrokenBarrierError"},
			{method: "barrier.reset", params: `{"name":"b"}`, want: `{}`},
			{method: "barrier.broken", params: `{"name":"b"}`, want: `{"broken":false}`},
		},
		"value": {
			{method: "value.get", params: `{"name":"nv"}`, code: protocol.CodeNotFound},
			{method: "object.create", params: `{"kind":"value","name":"v","params":{"typecode":"i","initial":5}}`, want: `{"kind":"value","name":"v"}`},
			{method: "value.get", params: `{"name":"v"}`, want: `{"value":5}`},
			{method: "value.set", params: `{"name":"v","value":7}`, want: `{"value":7}`},
			{method: "value.add", params: `{"name":"v","delta":3}`, want: `{"value":10}`},
			{method: "value.compare_and_swap", params: `{"name":"v","old":9,"new":1}`, want: `{"swapped":false}`},
			{method: "value.compare_and_swap", params: `{"name":"v","old":10,"new":1}`, want: `{"swapped":true}`},
			{method: "value.set", params: `{"name":"v","value":1099511627776}`, code: valueErr, errType: "OverflowError"},
			{method: "value.set", params: `{"name":"v","value":"x"}`, code: valueErr, errType: "TypeError"},
			{method: "value.get", params: `{"name":"v"}`, want: `{"value":1}`},
		},
		"array": {
			{method: "object.create", params: `{"kind":"array","name":"a","params":{"typecode":"d","initial":[1.5,2.5,3.5]}}`, want: `{"kind":"array","name":"a"}`},
			{method: "array.len", params: `{"name":"a"}`, want: `{"len":3}`},
			{method: "array.get", params: `{"name":"a","index":-1}`, want: `{"value":3.5}`},
			{method: "array.set", params: `{"name":"a","index":0,"value":0.25}`, want: `{}`},
			{method: "array.slice", params: `{"name":"a","stop":2}`, want: `{"values":[0.25,2.5]}`},
			{method: "array.set_slice", params: `{"name":"a","start":1,"values":[4,5]}`, want: `{}`},
			{method: "array.slice", params: `{"name":"a"}`, want: `{"values":[0.25,4,5]}`},
			{method: "array.get", params: `{"name":"a","index":3}`, code: valueErr, errType: "IndexError"},
			{method: "array.set_slice", params: `{"name":"a","values":[1]}`, code: valueErr},
		},
		"dict": {
			{method: "dict.set", params: `{"name":"d","key":1,"value":"one"}`, want: `{}`},
			{method: "dict.set", params: `{"name":"d","key":"1","value":"string one"}`, want: `{}`},
			{method: "dict.get", params: `{"name":"d","key":1}`, want: `{"value":"one"}`},
			{method: "dict.get", params: `{"name":"d","key":2}`, want: `{"value":null}`},
			{method: "dict.get", params: `{"name":"d","key":2,"default":0}`, want: `{"value":0}`},
			{method: "dict.contains", params: `{"name":"d","key":"1"}`, want: `{"contains":true}`},
			{method: "dict.len", params: `{"name":"d"}`, want: `{"len":2}`},
			{method: "dict.keys", params: `{"name":"d"}`, want: `{"keys":[1,"1"]}`},
			{method: "dict.values", params: `{"name":"d"}`, want: `{"values":["one","string one"]}`},
			{method: "dict.items", params: `{"name":"d"}`, want: `{"items":[[1,"one"],["1","string one"]]}`},
			{method: "dict.update", params: `{"name":"d","pairs":[[[1,2],true],[0.25,null]]}`, want: `{}`},
			{method: "dict.update", params: `{"name":"d","pairs":{"z":1}}`, want: `{}`},
			{method: "dict.pop", params: `{"name":"d","key":"z"}`, want: `{"value":1}`},
			{method: "dict.pop", params: `{"name":"d","key":"z"}`, code: valueErr, errType: "KeyError"},
			{method: "dict.pop", params: `{"name":"d","key":"z","default":null}`, want: `{"value":null}`},
			{method: "dict.popitem", params: `{"name":"d"}`, want: `{"key":0.25,"value":null}`},
			{method: "dict.setdefault", params: `{"name":"d","key":"k","default":[1]}`, want: `{"value":[1]}`},
			{method: "dict.setdefault", params: `{"name":"d","key":"k","default":[2]}`, want: `{"value":[1]}`},
			{method: "dict.delete", params: `{"name":"d","key":"k"}`, want: `{}`},
			{method: "dict.delete", params: `{"name":"d","key":"k"}`, code: valueErr, errType: "KeyError"},
			{method: "dict.copy", params: `{"name":"d"}`, want: `{"items":[[1,"one"],["1","string one"],[[1,2],true]]}`},
			{method: "dict.set", params: `{"name":"d","key":{"obj":1},"value":1}`, code: valueErr, errType: "TypeError"},
			{method: "dict.clear", params: `{"name":"d"}`, want: `{}`},
			{method: "dict.len", params: `{"name":"d"}`, want: `{"len":0}`},
		},
		"list": {
			{method: "list.append", params: `{"name":"li","item":3}`, want: `{}`},
			{method: "list.extend", params: `{"name":"li","items":[1,2,1]}`, want: `{}`},
			{method: "list.insert", params: `{"name":"li","index":0,"item":0}`, want: `{}`},
			{method: "list.len", params: `{"name":"li"}`, want: `{"len":5}`},
			{method: "list.count", params: `{"name":"li","item":1}`, want: `{"count":2}`},
			{method: "list.index", params: `{"name":"li","item":1}`, want: `{"index":2}`},
			{method: "list.index", params: `{"name":"li","item":1,"start":3}`, want: `{"index":4}`},
			{method: "list.index", params: `{"name":"li","item":9}`, code: valueErr, errType: "ValueError"},
			{method: "list.sort", params: `{"name":"li"}`, want: `{}`},
			{method: "list.slice", params: `{"name":"li"}`, want: `{"items":[0,1,1,2,3]}`},
			{method: "list.reverse", params: `{"name":"li"}`, want: `{}`},
			{method: "list.slice", params: `{"name":"li","step":2}`, want: `{"items":[3,1,0]}`},
			{method: "list.sort", params: `{"name":"li","reverse":true}`, want: `{}`},
			{method: "list.remove", params: `{"name":"li","item":1}`, want: `{}`},
			{method: "list.get", params: `{"name":"li","index":-1}`, want: `{"item":0}`},
			{method: "list.set", params: `{"name":"li","index":0,"item":"x"}`, want: `{}`},
			{method: "list.pop", params: `{"name":"li"}`, want: `{"item":0}`},
			{method: "list.pop", params: `{"name":"li","index":0}`, want: `{"item":"x"}`},
			{method: "list.delete", params: `{"name":"li","index":0}`, want: `{}`},
			{method: "list.slice", params: `{"name":"li"}`, want: `{"items":[1]}`},
			{method: "list.delete", params: `{"name":"li","start":0}`, want: `{}`},
			{method: "list.get", params: `{"name":"li","index":0}`, code: valueErr, errType: "IndexError"},
			{method: "list.slice", params: `{"name":"li","step":0}`, code: valueErr, errType: "ValueError"},
		},
		"namespace": {
			{method: "namespace.set", params: `{"name":"ns","attr":"b","value":2}`, want: `{}`},
			{method: "namespace.set", params: `{"name":"ns","attr":"a","value":[1]}`, want: `{}`},
			{method: "namespace.get", params: `{"name":"ns","attr":"a"}`, want: `{"value":[1]}`},
			{method: "namespace.attrs", params: `{"name":"ns"}`, want: `{"attrs":{"a":[1],"b":2}}`},
			{method: "namespace.delete", params: `{"name":"ns","attr":"a"}`, want: `{}`},
			{method: "namespace.get", params: `{"name":"ns","attr":"a"}`, code: valueErr, errType: "AttributeError"},
		},
		"pipe": {
			{method: "object.create", params: `{"kind":"pipe","name":"sp","params":{"duplex":false}}`, want: `{"kind":"pipe","name":"sp"}`},
			{method: "pipe.send", params: `{"name":"sp","end":0,"msg":1}`, code: protocol.CodeDirection},
			{method: "pipe.send", params: `{"name":"sp","end":1,"msg":{"m":1}}`, want: `{}`},
			{method: "pipe.poll", params: `{"name":"sp","end":0}`, want: `{"ready":true}`},
			{method: "pipe.recv", params: `{"name":"sp","end":0}`, want: `{"msg":{"m":1}}`},
			{method: "pipe.poll", params: `{"name":"sp","end":0}`, want: `{"ready":false}`},
			{method: "pipe.recv", params: `{"name":"sp","end":0,"block":false}`, code: protocol.CodeTimeout},
			{method: "pipe.send", params: `{"name":"p2","end":0,"msg":"hi"}`, want: `{}`},
			{method: "pipe.close", params: `{"name":"p2","end":0}`, want: `{}`},
			{method: "pipe.recv", params: `{"name":"p2","end":1}`, want: `{"msg":"hi"}`},
			{method: "pipe.recv", params: `{"name":"p2","end":1}`, code: protocol.CodeEOF, errType: "EOFError"},
			{method: "pipe.send", params: `{"name":"p2","end":2,"msg":1}`, code: valueErr},
		},
	}
	for fam, steps := range families {
		t.Run(fam, func(t *testing.T) {
			c.t = t
			runSteps(t, c, steps)
		})
	}
	c.t = t
	// Every operation of protocol.ObjectOps is served, and nothing else.
	n := 0
	for fam, ops := range protocol.ObjectOps {
		for _, o := range ops {
			if _, ok := objectOps[fam+"."+o]; !ok {
				t.Errorf("%s.%s is not served", fam, o)
			}
			n++
		}
	}
	if n != len(objectOps) {
		t.Errorf("%d operations served, %d listed", len(objectOps), n)
	}
	// object.list and corral.status list them; object.delete removes one.
	var list protocol.ObjectList
	c.mustCall(protocol.MethodObjectList, P(`{}`), &list)
	var st protocol.Status
	c.mustCall(protocol.MethodStatus, P(`{}`), &st)
	if len(list.Objects) < 14 || len(st.Objects) != len(list.Objects) {
		t.Fatalf("object.list %d objects, status %d", len(list.Objects), len(st.Objects))
	}
	runSteps(t, c, []step{
		{method: "object.delete", params: `{"name":"li"}`, want: `{}`},
		{method: "object.delete", params: `{"name":"li"}`, code: protocol.CodeNotFound},
		{method: "object.create", params: `{"kind":"lock","name":"q"}`, code: protocol.CodeConflict},
	})
}

// parked starts a call that must not be answered yet.
func parked(t *testing.T, c *testClient, method, params string) string {
	t.Helper()
	id := c.start(method, P(params))
	c.conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if line, err := c.r.ReadBytes('\n'); err == nil {
		t.Fatalf("%s %s answered at once: %s", method, params, line)
	}
	return id
}

func mustWait(t *testing.T, c *testClient, id, want string) {
	t.Helper()
	res, err := c.wait(id, 5*time.Second)
	if err != nil {
		t.Fatalf("parked call %s: %v", id, err)
	}
	if want != "" && compact(t, res) != compact(t, []byte(want)) {
		t.Fatalf("parked call %s: got %s, want %s", id, res, want)
	}
}

func TestObjectBlockingAnsweredByAnotherConnection(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	a, b := dialAs(t, s, "a"), dialAs(t, s, "b")

	// queue: a's get waits for b's put; meanwhile a's connection serves
	// other requests.
	id := parked(t, a, "queue.get", `{"name":"q"}`)
	runSteps(t, a, []step{{method: "queue.qsize", params: `{"name":"q"}`, want: `{"size":0}`}})
	runSteps(t, b, []step{{method: "queue.put", params: `{"name":"q","item":"hello"}`, want: `{"maxsize":0}`}})
	mustWait(t, a, id, `{"item":"hello"}`)

	// a bounded queue: a put waits for room.
	runSteps(t, b, []step{
		{method: "object.create", params: `{"kind":"queue","name":"bq","params":{"maxsize":1}}`},
		{method: "queue.put", params: `{"name":"bq","item":1}`},
	})
	id = parked(t, a, "queue.put", `{"name":"bq","item":2}`)
	runSteps(t, b, []step{{method: "queue.get", params: `{"name":"bq"}`, want: `{"item":1}`}})
	mustWait(t, a, id, `{"maxsize":1}`)

	// lock: b's acquire waits for a's release.
	runSteps(t, a, []step{{method: "lock.acquire", params: `{"name":"l"}`, want: `{"acquired":true}`}})
	id = parked(t, b, "lock.acquire", `{"name":"l"}`)
	runSteps(t, a, []step{{method: "lock.release", params: `{"name":"l"}`, want: `{}`}})
	mustWait(t, b, id, `{"acquired":true}`)
	runSteps(t, a, []step{{method: "lock.release", params: `{"name":"l"}`, code: protocol.CodeNotOwner}})
	runSteps(t, b, []step{{method: "lock.release", params: `{"name":"l"}`, want: `{}`}})

	// semaphore
	runSteps(t, a, []step{{method: "object.create", params: `{"kind":"semaphore","name":"s","params":{"value":0}}`}})
	id = parked(t, a, "semaphore.acquire", `{"name":"s"}`)
	runSteps(t, b, []step{{method: "semaphore.release", params: `{"name":"s"}`, want: `{}`}})
	mustWait(t, a, id, `{"acquired":true}`)

	// event
	id = parked(t, a, "event.wait", `{"name":"e"}`)
	runSteps(t, b, []step{{method: "event.set", params: `{"name":"e"}`}})
	mustWait(t, a, id, `{"set":true}`)

	// condition: a waits (releasing the lock), b acquires, notifies,
	// releases; a is notified holding the lock again.
	runSteps(t, a, []step{{method: "condition.acquire", params: `{"name":"c"}`, want: `{"acquired":true}`}})
	id = parked(t, a, "condition.wait", `{"name":"c"}`)
	runSteps(t, b, []step{
		{method: "condition.acquire", params: `{"name":"c"}`, want: `{"acquired":true}`},
		{method: "condition.notify", params: `{"name":"c"}`, want: `{}`},
		{method: "condition.release", params: `{"name":"c"}`, want: `{}`},
	})
	mustWait(t, a, id, `{"notified":true}`)
	runSteps(t, a, []step{{method: "condition.release", params: `{"name":"c"}`, want: `{}`}})

	// barrier of two: indices 0 and 1.
	runSteps(t, a, []step{{method: "object.create", params: `{"kind":"barrier","name":"b","params":{"parties":2}}`}})
	id = parked(t, a, "barrier.wait", `{"name":"b"}`)
	runSteps(t, b, []step{{method: "barrier.wait", params: `{"name":"b"}`, want: `{"index":1}`}})
	mustWait(t, a, id, `{"index":0}`)

	// pipe: a receives on end 1 what b sends on end 0.
	id = parked(t, a, "pipe.recv", `{"name":"p","end":1}`)
	runSteps(t, b, []step{{method: "pipe.send", params: `{"name":"p","end":0,"msg":[1,2]}`}})
	mustWait(t, a, id, `{"msg":[1,2]}`)
	id = parked(t, a, "pipe.poll", `{"name":"p","end":1,"timeout":5}`)
	runSteps(t, b, []step{{method: "pipe.send", params: `{"name":"p","end":0,"msg":3}`}})
	mustWait(t, a, id, `{"ready":true}`)

	// joinablequeue: join waits for task_done.
	runSteps(t, b, []step{
		{method: "object.create", params: `{"kind":"joinablequeue","name":"jq"}`},
		{method: "queue.put", params: `{"name":"jq","item":1}`},
	})
	id = parked(t, a, "queue.join", `{"name":"jq"}`)
	runSteps(t, b, []step{
		{method: "queue.get", params: `{"name":"jq"}`},
		{method: "queue.task_done", params: `{"name":"jq"}`},
	})
	mustWait(t, a, id, `{}`)
}

func TestObjectTimeouts(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	a, b := dialAs(t, s, "a"), dialAs(t, s, "b")
	runSteps(t, b, []step{
		{method: "lock.acquire", params: `{"name":"l"}`},
		{method: "condition.acquire", params: `{"name":"c"}`},
		{method: "object.create", params: `{"kind":"queue","name":"full","params":{"maxsize":1}}`},
		{method: "queue.put", params: `{"name":"full","item":0}`},
		{method: "object.create", params: `{"kind":"barrier","name":"b","params":{"parties":2}}`},
		{method: "object.create", params: `{"kind":"joinablequeue","name":"jq"}`},
		{method: "queue.put", params: `{"name":"jq","item":0}`},
	})
	runSteps(t, a, []step{{method: "condition.acquire", params: `{"name":"c2"}`}})
	const timeout = 0.2
	cases := []struct {
		method, params string
		want           string
		code           int64
	}{
		{"queue.get", `{"name":"q","timeout":0.2}`, "", protocol.CodeEmpty},
		{"queue.put", `{"name":"full","item":1,"timeout":0.2}`, "", protocol.CodeFull},
		{"queue.join", `{"name":"jq","timeout":0.2}`, "", protocol.CodeTimeout},
		{"lock.acquire", `{"name":"l","timeout":0.2}`, `{"acquired":false}`, 0},
		{"event.wait", `{"name":"e","timeout":0.2}`, `{"set":false}`, 0},
		{"condition.wait", `{"name":"c2","timeout":0.2}`, `{"notified":false}`, 0},
		{"condition.acquire", `{"name":"c","timeout":0.2}`, `{"acquired":false}`, 0},
		{"barrier.wait", `{"name":"b","timeout":0.2}`, "", protocol.CodeBrokenBarrier},
		{"pipe.recv", `{"name":"p","end":0,"timeout":0.2}`, "", protocol.CodeTimeout},
		{"pipe.poll", `{"name":"p","end":0,"timeout":0.2}`, `{"ready":false}`, 0},
	}
	for _, tc := range cases {
		start := time.Now()
		res, err := a.call(tc.method, P(tc.params))
		el := time.Since(start)
		if el < time.Duration(timeout*float64(time.Second)) || el >= time.Duration(timeout*float64(time.Second))+300*time.Millisecond {
			t.Errorf("%s: timeout of %vs took %v", tc.method, timeout, el)
		}
		if tc.code != 0 {
			if err == nil || err.Code != tc.code {
				t.Errorf("%s: want error %d, got %s / %v", tc.method, tc.code, res, err)
			}
		} else if err != nil || compact(t, res) != tc.want {
			t.Errorf("%s: got %s / %v, want %s", tc.method, res, err, tc.want)
		}
	}
	// The timed-out barrier is broken for everyone, as in Python.
	runSteps(t, b, []step{{method: "barrier.broken", params: `{"name":"b"}`, want: `{"broken":true}`}})
}

func TestObjectLockReleasedWhenHolderLeaves(t *testing.T) {
	s, logs := newSupervisor(t, nil)
	holder, b := dialAs(t, s, "holder-7"), dialAs(t, s, "b")
	runSteps(t, holder, []step{
		{method: "lock.acquire", params: `{"name":"db"}`, want: `{"acquired":true}`},
		{method: "object.create", params: `{"kind":"semaphore","name":"gpu","params":{"value":1}}`},
		{method: "semaphore.acquire", params: `{"name":"gpu"}`, want: `{"acquired":true}`},
	})
	var st protocol.Status
	b.mustCall(protocol.MethodStatus, P(`{}`), &st)
	found := false
	for _, o := range st.Objects {
		if o.Name == "db" && len(o.Holders) == 1 && o.Holders[0] == "holder-7" {
			found = true
		}
	}
	if !found {
		t.Fatalf("status does not show holder-7 holding db: %+v", st.Objects)
	}
	id := parked(t, b, "lock.acquire", `{"name":"db"}`)
	id2 := parked(t, b, "semaphore.acquire", `{"name":"gpu"}`)
	holder.conn.Close()
	mustWait(t, b, id, `{"acquired":true}`)
	mustWait(t, b, id2, `{"acquired":true}`)
	waitLog(t, logs, "released lock db held by holder-7", `"holder":"holder-7"`, `"level":"info"`)
	waitLog(t, logs, "permits of semaphore gpu held by holder-7")
}

func TestObjectWaiterThatLeavesGetsNothing(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	gone, b, c := dialAs(t, s, "gone"), dialAs(t, s, "b"), dialAs(t, s, "c")
	// A get whose connection ends does not take the item.
	parked(t, gone, "queue.get", `{"name":"q"}`)
	// A lock waiter that leaves does not get the lock.
	runSteps(t, b, []step{{method: "lock.acquire", params: `{"name":"l"}`}})
	parked(t, gone, "lock.acquire", `{"name":"l"}`)
	idc := parked(t, c, "lock.acquire", `{"name":"l"}`)
	gone.conn.Close()
	time.Sleep(50 * time.Millisecond)
	runSteps(t, b, []step{
		{method: "queue.put", params: `{"name":"q","item":"kept"}`},
		{method: "lock.release", params: `{"name":"l"}`},
	})
	mustWait(t, c, idc, `{"acquired":true}`)
	runSteps(t, c, []step{{method: "queue.get", params: `{"name":"q","block":false}`, want: `{"item":"kept"}`}})
}

func TestObjectCounterManyConnections(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	dial(t, s).mustCall("object.create", P(`{"kind":"value","name":"counter","params":{"typecode":"q"}}`), nil)
	const conns, adds = 8, 500
	clients := make([]*testClient, conns)
	for i := range clients {
		clients[i] = dialAs(t, s, fmt.Sprintf("w-%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]string, adds)
			p := P(`{"name":"counter","delta":1}`)
			for i := range ids {
				c.id++
				ids[i] = itoa(c.id)
				line := `{"jsonrpc":"2.0","id":` + ids[i] + `,"method":"value.add","params":` + string(p) + "}\n"
				if _, err := c.conn.Write([]byte(line)); err != nil {
					errs <- err
					return
				}
			}
			for range ids {
				c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				line, err := c.r.ReadBytes('\n')
				if err != nil {
					errs <- err
					return
				}
				if strings.Contains(string(line), `"error"`) {
					errs <- errors.New(string(line))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	runSteps(t, clients[0], []step{{method: "value.get", params: `{"name":"counter"}`, want: fmt.Sprintf(`{"value":%d}`, conns*adds)}})
}

func TestObjectLockWaitersFIFO(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	h := dialAs(t, s, "h")
	runSteps(t, h, []step{{method: "lock.acquire", params: `{"name":"l"}`}})
	const n = 6
	ws := make([]*testClient, n)
	ids := make([]string, n)
	for i := range ws {
		ws[i] = dialAs(t, s, fmt.Sprintf("w%d", i))
		ids[i] = parked(t, ws[i], "lock.acquire", `{"name":"l"}`)
	}
	holderIs := func(want string) {
		t.Helper()
		var list protocol.ObjectList
		h.mustCall(protocol.MethodObjectList, P(`{}`), &list)
		for _, o := range list.Objects {
			if o.Name == "l" {
				if len(o.Holders) != 1 || o.Holders[0] != want {
					t.Fatalf("holder of l: %v, want %s", o.Holders, want)
				}
				return
			}
		}
		t.Fatal("no lock l")
	}
	runSteps(t, h, []step{{method: "lock.release", params: `{"name":"l"}`}})
	for i := range ws {
		mustWait(t, ws[i], ids[i], `{"acquired":true}`)
		holderIs(fmt.Sprintf("w%d", i))
		runSteps(t, ws[i], []step{{method: "lock.release", params: `{"name":"l"}`}})
	}
}

func TestObjectBadInput(t *testing.T) {
	off := false
	s, _ := newSupervisor(t, &Config{AutoCreate: &off, MaxMessage: 4096})
	c := dial(t, s)
	long := strings.Repeat("x", 256)
	runSteps(t, c, []step{
		{method: "object.create", params: `{"kind":"lock","name":"lk"}`},
		{method: "object.create", params: `{"kind":"queue","name":"q","params":{"maxsize":5}}`},
		{method: "queue.put", params: `{"name":"q","item":"first"}`},
		{method: "object.create", params: `{"kind":"array","name":"a","params":{"typecode":"i","size":3}}`},
		{method: "object.create", params: `{"kind":"value","name":"v","params":{"typecode":"i","initial":1}}`},
		// wrong kind
		{method: "queue.put", params: `{"name":"lk","item":1}`, code: protocol.CodeWrongKind},
		{method: "lock.acquire", params: `{"name":"q"}`, code: protocol.CodeWrongKind},
		// unknown object, auto_create off
		{method: "queue.get", params: `{"name":"nope"}`, code: protocol.CodeNotFound},
		{method: "lock.acquire", params: `{"name":"nope"}`, code: protocol.CodeNotFound},
		// timeouts
		{method: "queue.get", params: `{"name":"q","timeout":-1}`, code: protocol.CodeInvalidParams},
		{method: "queue.get", params: `{"name":"q","timeout":"soon"}`, code: protocol.CodeInvalidParams},
		{method: "lock.acquire", params: `{"name":"lk","timeout":[1]}`, code: protocol.CodeInvalidParams},
		// typecodes and ranges
		{method: "object.create", params: `{"kind":"value","name":"z","params":{"typecode":"z"}}`, code: protocol.CodeInvalidParams},
		{method: "object.create", params: `{"kind":"value","name":"z"}`, code: protocol.CodeInvalidParams},
		{method: "object.create", params: `{"kind":"lock","name":"z","params":{"maxsize":1}}`, code: protocol.CodeInvalidParams},
		{method: "object.create", params: `{"kind":"nosuch","name":"z"}`, code: protocol.CodeInvalidParams},
		{method: "value.set", params: `{"name":"v","value":1099511627776}`, code: protocol.CodeValueError, errType: "OverflowError"},
		{method: "value.add", params: `{"name":"v","delta":2147483647}`, code: protocol.CodeValueError, errType: "OverflowError"},
		{method: "array.set", params: `{"name":"a","index":3,"value":1}`, code: protocol.CodeValueError, errType: "IndexError"},
		{method: "array.get", params: `{"name":"a","index":-4}`, code: protocol.CodeValueError, errType: "IndexError"},
		// names
		{method: "queue.put", params: `{"name":"` + long + `","item":1}`, code: protocol.CodeInvalidParams},
		{method: "object.create", params: `{"kind":"queue","name":"` + long + `"}`, code: protocol.CodeInvalidParams},
		{method: "queue.put", params: `{"name":"a\u0007b","item":1}`, code: protocol.CodeInvalidParams},
		{method: "queue.put", params: `{"name":"","item":1}`, code: protocol.CodeInvalidParams},
		// params
		{method: "queue.put", params: `{"name":"q"}`, code: protocol.CodeInvalidParams},
		{method: "queue.put", params: `{"name":"q","item":1,"extra":2}`, code: protocol.CodeInvalidParams},
		{method: "queue.get_nowait", params: `{"name":"q","block":true}`, code: protocol.CodeInvalidParams},
		{method: "lock.release", params: `[]`, code: protocol.CodeInvalidParams},
		{method: "queue.get", params: `{"name":"q","block":"no"}`, code: protocol.CodeInvalidParams},
		{method: "object.create", params: `{"kind":"queue","name":"z","params":{"maxsize":1,"bogus":1}}`, code: protocol.CodeInvalidParams},
		{method: "object.create", params: `{"kind":"queue","name":"z","params":{"maxsize":-1}}`, code: protocol.CodeInvalidParams},
		{method: "object.delete", params: `{"name":"z"}`, code: protocol.CodeNotFound},
		// unchanged
		{method: "queue.qsize", params: `{"name":"q"}`, want: `{"size":1}`},
		{method: "value.get", params: `{"name":"v"}`, want: `{"value":1}`},
		{method: "array.slice", params: `{"name":"a"}`, want: `{"values":[0,0,0]}`},
		{method: "lock.locked", params: `{"name":"lk"}`, want: `{"locked":false}`},
	})
	// A message naming the unknown field.
	if _, err := c.call("queue.put", P(`{"name":"q","item":1,"extra":2}`)); err == nil || !strings.Contains(err.Message, `"extra"`) {
		t.Fatalf("unknown field: %v", err)
	}
	// An oversize item is refused with too_large, and the object is
	// unchanged.
	big := strings.Repeat("y", 5000)
	c.send(`{"jsonrpc":"2.0","id":99,"method":"queue.put","params":{"name":"q","item":"` + big + `"}}`)
	m := c.readMsg(5 * time.Second)
	var e jsonrpc.Error
	json.Unmarshal(m["error"], &e)
	if e.Code != protocol.CodeTooLarge {
		t.Fatalf("oversize: %s", m["error"])
	}
	runSteps(t, dial(t, s), []step{{method: "queue.qsize", params: `{"name":"q"}`, want: `{"size":1}`}})
}

func TestObjectErrorMapping(t *testing.T) {
	// An item over the store's limit (it can only come from a config or
	// an API user, since a message is at least as large as its item) is a
	// value_error on that request; the connection stays open.
	st := ss.NewMemStore(ss.Options{AutoCreate: true, MaxItemSize: 4})
	defer st.Close()
	q, err := ss.Open[ss.Queue](st, ss.KindQueue, "q")
	if err != nil {
		t.Fatal(err)
	}
	var got error
	q.Put(json.RawMessage(`"toolong"`), ss.Wait{}, func(err error) { got = err })
	e := objectError(got)
	var d protocol.ObjectErrorData
	json.Unmarshal(e.Data, &d)
	if !errors.Is(got, ss.ErrTooLarge) || e.Code != protocol.CodeValueError || d.Type != "ValueError" {
		t.Fatalf("too large: %v -> %v %s", got, e, e.Data)
	}
}

func TestObjectConfig(t *testing.T) {
	src := `auto_create = false

[queue.jobs]
maxsize = 100

[semaphore.gpu]
value = 2

[lock.db]

[rlock.rdb]

[condition.cv]
lock = "db"

[barrier.start]
parties = 3
timeout = "5s"

[value.counter]
typecode = "i"
initial = 7

[array.arr]
typecode = "d"
initial = [1.5, 2]

[dict.cfg]
initial = {k = 1}

[list.items]
initial = [1, "two"]

[pipe.p]
duplex = false
`
	cfg, err := ParseConfig("corral.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := newSupervisor(t, cfg)
	c := dial(t, s)
	runSteps(t, c, []step{
		{method: "object.create", params: `{"kind":"queue","name":"jobs","params":{"maxsize":100}}`, want: `{"kind":"queue","name":"jobs"}`},
		{method: "semaphore.value", params: `{"name":"gpu"}`, want: `{"value":2}`},
		{method: "barrier.parties", params: `{"name":"start"}`, want: `{"parties":3}`},
		{method: "value.get", params: `{"name":"counter"}`, want: `{"value":7}`},
		{method: "array.slice", params: `{"name":"arr"}`, want: `{"values":[1.5,2]}`},
		{method: "dict.items", params: `{"name":"cfg"}`, want: `{"items":[["k",1]]}`},
		{method: "list.slice", params: `{"name":"items"}`, want: `{"items":[1,"two"]}`},
		{method: "pipe.send", params: `{"name":"p","end":0,"msg":1}`, code: protocol.CodeDirection},
		{method: "condition.acquire", params: `{"name":"cv"}`, want: `{"acquired":true}`},
		{method: "lock.locked", params: `{"name":"db"}`, want: `{"locked":true}`},
		{method: "queue.get", params: `{"name":"undeclared"}`, code: protocol.CodeNotFound},
	})
	var st protocol.Status
	c.mustCall(protocol.MethodStatus, P(`{}`), &st)
	if len(st.Objects) != 11 {
		t.Fatalf("status objects: %+v", st.Objects)
	}

	bad := []struct{ src, want string }{
		{"[queue.jobs]\nmaxsiz = 3\n", `corral.toml:2: unknown key "queue.jobs.maxsiz"`},
		{"\n[lock.db]\nmaxsize = 3\n", "corral.toml:2: [lock.db]: "},
		{"[barrier.b]\n", "corral.toml:1: [barrier.b]: "},
		{"[x]\n\n[value.v]\ntypecode = \"z\"\n", "corral.toml:3: [value.v]: "},
		{"[condition.c]\nlock = \"missing\"\n", "corral.toml:1: [condition.c]: "},
		{"[queue.q]\nmaxsize = \"big\"\n", "corral.toml:2:"},
	}
	for _, b := range bad {
		_, err := ParseConfig("corral.toml", []byte(b.src))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: got %v, want %q", b.src, err, b.want)
		}
	}
}

func TestObjectPartyThatLeaves(t *testing.T) {
	s, logs := newSupervisor(t, nil)
	a, b, c := dialAs(t, s, "a"), dialAs(t, s, "b"), dialAs(t, s, "c")
	// A barrier party that leaves breaks the barrier for the others.
	runSteps(t, a, []step{{method: "object.create", params: `{"kind":"barrier","name":"b3","params":{"parties":3}}`}})
	parked(t, a, "barrier.wait", `{"name":"b3"}`)
	id := parked(t, b, "barrier.wait", `{"name":"b3"}`)
	// A condition waiter that leaves frees the lock for the others.
	runSteps(t, a, []step{{method: "condition.acquire", params: `{"name":"cv"}`}})
	idc := parked(t, c, "condition.acquire", `{"name":"cv"}`)
	a.conn.Close()
	if _, err := b.wait(id, 5*time.Second); err == nil || err.Code != protocol.CodeBrokenBarrier {
		t.Fatalf("barrier after a party left: %v", err)
	}
	mustWait(t, c, idc, `{"acquired":true}`)
	waitLog(t, logs, `"holder":"a"`, "cv")
	// The others go on: notify with nobody waiting, release.
	runSteps(t, c, []step{
		{method: "condition.notify_all", params: `{"name":"cv"}`, want: `{}`},
		{method: "condition.release", params: `{"name":"cv"}`, want: `{}`},
		{method: "barrier.reset", params: `{"name":"b3"}`, want: `{}`},
		{method: "barrier.n_waiting", params: `{"name":"b3"}`, want: `{"n_waiting":0}`},
	})
}

func TestObjectOwnerNames(t *testing.T) {
	s, _ := newSupervisor(t, nil)
	w := &client{s: s, via: "worker p-1", worker: &worker{name: "p-1"}}
	anon := &client{s: s, via: "stdio"}
	named := &client{s: s, via: "socket", name: "driver"}
	o1, o2, o3 := w.objOwner(), anon.objOwner(), named.objOwner()
	if o1.Name != "p-1" || o2.Name != "stdio" || o3.Name != "driver" {
		t.Fatalf("owner names: %v %v %v", o1, o2, o3)
	}
	if o1.ID == o2.ID || o2.ID == o3.ID || o1.ID == o3.ID || w.objOwner() != o1 {
		t.Fatalf("owner ids: %v %v %v", o1, o2, o3)
	}
}

// BenchmarkObjectQueuePairs measures queue put+get pairs from one
// connection, one request at a time (a round trip each).
func BenchmarkObjectQueuePairs(b *testing.B) {
	s, err := New(Options{Log: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	conn, err := net.Dial("unix", s.SocketPath())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	call := func(line string) {
		if _, err := conn.Write([]byte(line)); err != nil {
			b.Fatal(err)
		}
		if _, err := r.ReadBytes('\n'); err != nil {
			b.Fatal(err)
		}
	}
	call(`{"jsonrpc":"2.0","id":0,"method":"corral.hello","params":{"protocol":"corral/1","role":"client"}}` + "\n")
	put := `{"jsonrpc":"2.0","id":1,"method":"queue.put","params":{"name":"q","item":"x"}}` + "\n"
	get := `{"jsonrpc":"2.0","id":2,"method":"queue.get","params":{"name":"q"}}` + "\n"
	b.ResetTimer()
	for range b.N {
		call(put)
		call(get)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
}
