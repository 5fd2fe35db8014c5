package corral

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

// rawWorker is a worker process driven line by line, as the supervisor
// (or a shell script) would.
type rawWorker struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     *os.File // the worker's requests
	out    *os.File // its replies
	rd     *bufio.Reader
	stdout *bytes.Buffer // with fds: what it printed on stdout
	stderr *syncBuffer
	exited chan struct{}
	err    error
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// response is a reply as it appeared on the wire.
type response struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *jsonrpc.Error  `json:"error"`
}

// startRaw runs bin as a worker. With fds it speaks on fds 3 and 4.
func startRaw(t *testing.T, bin string, env []string, fds bool) *rawWorker {
	t.Helper()
	w := &rawWorker{t: t, stderr: &syncBuffer{}, exited: make(chan struct{})}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	w.cmd = exec.Command(bin)
	w.cmd.Env = append(os.Environ(), env...)
	w.cmd.Stderr = w.stderr
	if fds {
		w.stdout = &bytes.Buffer{}
		w.cmd.Stdout = w.stdout
		w.cmd.ExtraFiles = []*os.File{reqR, repW}
		w.cmd.Env = append(w.cmd.Env, protocol.EnvProtocolFDs+"=3,4")
	} else {
		w.cmd.Stdin, w.cmd.Stdout = reqR, repW
	}
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	reqR.Close()
	repW.Close()
	w.in, w.out, w.rd = reqW, repR, bufio.NewReader(repR)
	go func() {
		w.err = w.cmd.Wait()
		close(w.exited)
	}()
	t.Cleanup(func() {
		w.in.Close()
		select {
		case <-w.exited:
		case <-time.After(10 * time.Second):
			w.cmd.Process.Kill()
			<-w.exited
		}
		w.out.Close()
		if t.Failed() {
			t.Logf("worker stderr:\n%s", w.stderr.String())
		}
	})
	return w
}

func (w *rawWorker) send(line string) {
	w.t.Helper()
	if _, err := io.WriteString(w.in, line+"\n"); err != nil {
		w.t.Fatalf("send %s: %v", line, err)
	}
}

// recv reads the next reply.
func (w *rawWorker) recv() response {
	w.t.Helper()
	w.out.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := w.rd.ReadBytes('\n')
	if err != nil {
		w.t.Fatalf("read reply: %v (stderr: %s)", err, w.stderr.String())
	}
	var r response
	if err := json.Unmarshal(line, &r); err != nil {
		w.t.Fatalf("reply %q: %v", line, err)
	}
	return r
}

// call sends a request with id and returns its reply.
func (w *rawWorker) call(id, method, params string) response {
	w.t.Helper()
	w.send(`{"jsonrpc":"2.0","id":` + id + `,"method":"` + method + `","params":` + params + `}`)
	r := w.recv()
	if string(r.ID) != id {
		w.t.Fatalf("reply to %s: got id %s", id, r.ID)
	}
	return r
}

func (w *rawWorker) hello() protocol.HelloResult {
	w.t.Helper()
	r := w.call("0", protocol.MethodHello, `{"protocol":"corral/1","role":"supervisor","version":"test","worker":{"id":1,"name":"w1","pool":"p"}}`)
	if r.Error != nil {
		w.t.Fatalf("hello: %v", r.Error)
	}
	var h protocol.HelloResult
	if err := json.Unmarshal(r.Result, &h); err != nil {
		w.t.Fatal(err)
	}
	return h
}

// wantResult checks a reply's result, as compact JSON.
func wantResult(t *testing.T, r response, want string) {
	t.Helper()
	if r.Error != nil {
		t.Fatalf("got error %v, want %s", r.Error, want)
	}
	if string(r.Result) != want {
		t.Fatalf("got %s, want %s", r.Result, want)
	}
}

// wantError checks a reply's error code and returns its data.
func wantError(t *testing.T, r response, code int64) protocol.ErrorData {
	t.Helper()
	if r.Error == nil {
		t.Fatalf("got result %s, want error %d", r.Result, code)
	}
	if r.Error.Code != code {
		t.Fatalf("got error %v, want code %d", r.Error, code)
	}
	var d protocol.ErrorData
	if len(r.Error.Data) > 0 {
		if err := json.Unmarshal(r.Error.Data, &d); err != nil {
			t.Fatalf("error data %s: %v", r.Error.Data, err)
		}
	}
	return d
}

// closeAndWait closes the worker's input and expects a clean exit.
func (w *rawWorker) closeAndWait() {
	w.t.Helper()
	w.in.Close()
	select {
	case <-w.exited:
	case <-time.After(10 * time.Second):
		w.t.Fatal("worker did not exit at the end of its input")
	}
	if w.err != nil {
		w.t.Fatalf("worker exit: %v (stderr: %s)", w.err, w.stderr.String())
	}
}

func (w *rawWorker) stderrHas(s string) bool { return strings.Contains(w.stderr.String(), s) }
