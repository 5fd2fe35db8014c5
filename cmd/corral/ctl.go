package main

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/jsonrpc"
	"github.com/corralhq/corral/protocol"
)

const ctlUsage = `Usage:
  corral ctl [--socket PATH] [--timeout S] [--no-block] FAMILY OP NAME [ARGS…]
  corral ctl object create KIND NAME [PARAMS-JSON]
  corral ctl object delete NAME
  corral ctl object list
  corral ctl with-lock NAME [--timeout S | --no-block] -- CMD ARGS…
  corral ctl with-semaphore NAME [--timeout S | --no-block] -- CMD ARGS…

Operate on the supervisor's shared objects from a shell. The supervisor is
the one on --socket, else $CORRAL_SOCKET (set in every worker's environment).

FAMILY OP is the method FAMILY.OP: queue, lock, semaphore, event, condition,
barrier, value, array, dict, list, namespace, pipe (or a kind such as rlock,
joinablequeue), and an operation as Python names it (get_nowait, or
get-nowait). ARGS are strict JSON, one value each, in the order shown by
"corral ctl FAMILY" (quote strings for the shell: '"x"'); a parameter may also
be given by name as FIELD=JSON (list delete l start=1 stop=3).

  corral ctl queue put jobs '"a job"'      corral ctl queue get jobs --timeout 5
  corral ctl value add counter 1           corral ctl dict set cfg '"k"' 42
  corral ctl event wait go --timeout 2     corral ctl barrier wait start

Output: the result's value as compact JSON on stdout ("x" for queue get,
true for lock acquire, 42 for value add); nothing for an empty result; the
whole object when the result has several members.

--timeout S and --no-block set timeout and block for the operations that
wait (queue put/get/join, lock/semaphore/condition acquire, event, condition
and barrier wait, pipe recv/poll).

Exit status:
  0  success
  1  a negative answer: timeout, empty, full, or false from an acquire or a
     wait, so that "if corral ctl lock acquire db --timeout 1; then" works
     (with-lock/with-semaphore: not acquired within --timeout)
  2  usage error: unknown family or operation, missing or non-JSON argument
  3  an error from the supervisor (wrong kind, bad value, …) or no connection
with-lock and with-semaphore exit with CMD's status (128+N if signal N
killed it).

Locks are held by the connection that acquired them: "corral ctl lock
acquire" exits, its connection closes and the lock is released at once, so
"ctl lock acquire" and "ctl lock release" in separate invocations cannot
guard anything. Use with-lock, which holds the lock while CMD runs (like
flock(1)), forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to CMD, and releases
the lock when CMD exits. with-semaphore holds one permit the same way.
`

// ctlOp describes how the positional arguments of one operation map onto
// its params struct (protocol/objects.go): fields in order, a trailing "?"
// marking an optional one, and whether the operation takes block and/or
// timeout.
type ctlOp struct {
	fields  []string
	block   bool // ObjectWait: block and timeout
	timeout bool // ObjectTimeout or ObjectWait: timeout
}

func f(fields ...string) ctlOp { return ctlOp{fields: fields} }
func waitOp(fields ...string) ctlOp {
	return ctlOp{fields: fields, block: true, timeout: true}
}
func timeoutOp(fields ...string) ctlOp { return ctlOp{fields: fields, timeout: true} }

// ctlOps covers every method of protocol.ObjectOps (a test checks it).
var ctlOps = map[string]ctlOp{
	"queue.put":        waitOp("item"),
	"queue.put_nowait": f("item"),
	"queue.get":        waitOp(),
	"queue.get_nowait": f(),
	"queue.qsize":      f(),
	"queue.empty":      f(),
	"queue.full":       f(),
	"queue.close":      f(),
	"queue.task_done":  f(),
	"queue.join":       timeoutOp(),

	"lock.acquire": waitOp(),
	"lock.release": f(),
	"lock.locked":  f(),

	"semaphore.acquire": waitOp(),
	"semaphore.release": f(),
	"semaphore.value":   f(),

	"event.set":    f(),
	"event.clear":  f(),
	"event.is_set": f(),
	"event.wait":   timeoutOp(),

	"condition.acquire":    waitOp(),
	"condition.release":    f(),
	"condition.wait":       timeoutOp(),
	"condition.notify":     f("n?"),
	"condition.notify_all": f(),

	"barrier.wait":      timeoutOp(),
	"barrier.abort":     f(),
	"barrier.reset":     f(),
	"barrier.broken":    f(),
	"barrier.n_waiting": f(),
	"barrier.parties":   f(),

	"value.get":              f(),
	"value.set":              f("value"),
	"value.add":              f("delta"),
	"value.compare_and_swap": f("old", "new"),

	"array.len":       f(),
	"array.get":       f("index"),
	"array.set":       f("index", "value"),
	"array.slice":     f("start?", "stop?"),
	"array.set_slice": f("start?", "stop?", "values"),

	"dict.get":        f("key", "default?"),
	"dict.set":        f("key", "value"),
	"dict.delete":     f("key"),
	"dict.contains":   f("key"),
	"dict.len":        f(),
	"dict.keys":       f(),
	"dict.values":     f(),
	"dict.items":      f(),
	"dict.update":     f("pairs"),
	"dict.pop":        f("key", "default?"),
	"dict.popitem":    f(),
	"dict.setdefault": f("key", "default?"),
	"dict.clear":      f(),
	"dict.copy":       f(),

	"list.append":  f("item"),
	"list.extend":  f("items"),
	"list.insert":  f("index", "item"),
	"list.pop":     f("index?"),
	"list.remove":  f("item"),
	"list.index":   f("item", "start?", "stop?"),
	"list.count":   f("item"),
	"list.reverse": f(),
	"list.sort":    f("reverse?"),
	"list.len":     f(),
	"list.get":     f("index"),
	"list.set":     f("index", "item"),
	"list.slice":   f("start?", "stop?", "step?"),
	// An index, or start/stop/step given by name for a slice.
	"list.delete": f("index?"),

	"namespace.get":    f("attr"),
	"namespace.set":    f("attr", "value"),
	"namespace.delete": f("attr"),
	"namespace.attrs":  f(),

	"pipe.send":  f("end", "msg"),
	"pipe.recv":  waitOp("end"),
	"pipe.poll":  waitOp("end"),
	"pipe.close": f("end"),
}

// ctlNamedOnly are fields an operation takes only by name (FIELD=JSON).
var ctlNamedOnly = map[string][]string{
	"list.delete": {"start", "stop", "step"},
}

// negativeBool: operations whose false answer exits 1.
func negativeBool(method string) bool {
	op := method[strings.IndexByte(method, '.')+1:]
	return op == "acquire" || op == "wait"
}

// CtlCommand operates on shared objects from the command line.
type CtlCommand struct {
	Stdout, Stderr io.Writer
	// Stdin is CMD's standard input for with-lock (os.Stdin when nil).
	Stdin io.Reader
}

type ctlFlags struct {
	socket  string
	timeout *float64
	noBlock bool
	help    bool
	json    bool // status only
}

var namedArg = regexp.MustCompile(`^([a-z_]+)=(.*)$`)

// parseFlags takes the flags wherever they appear before "--" (so that
// "queue get jobs --timeout 5" works); an argument that is not a known flag,
// such as -1, is positional. It returns the positionals and, after "--",
// the rest; dashDash reports whether "--" was there.
func parseFlags(args []string, allowed map[string]bool) (fl ctlFlags, pos, rest []string, dashDash bool, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return fl, pos, args[i+1:], true, nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		val, hasVal := "", false
		if k := strings.IndexByte(name, '='); k >= 0 {
			name, val, hasVal = name[:k], name[k+1:], true
		}
		if !allowed[name] && name != "h" && name != "help" {
			if strings.HasPrefix(a, "--") || !looksNumeric(a) {
				return fl, nil, nil, false, fmt.Errorf("unknown flag %s", a)
			}
			pos = append(pos, a) // a negative number
			continue
		}
		needVal := name == "socket" || name == "timeout"
		if needVal && !hasVal {
			if i+1 >= len(args) {
				return fl, nil, nil, false, fmt.Errorf("flag %s needs a value", a)
			}
			i++
			val = args[i]
		} else if !needVal && hasVal {
			return fl, nil, nil, false, fmt.Errorf("flag -%s takes no value", name)
		}
		switch name {
		case "h", "help":
			fl.help = true
		case "socket":
			fl.socket = val
		case "timeout":
			t, perr := strconv.ParseFloat(val, 64)
			if perr != nil || t < 0 || math.IsNaN(t) || math.IsInf(t, 0) {
				return fl, nil, nil, false, fmt.Errorf("--timeout: want a number of seconds ≥ 0, got %q", val)
			}
			fl.timeout = &t
		case "no-block":
			fl.noBlock = true
		case "json":
			fl.json = true
		}
	}
	return fl, pos, nil, false, nil
}

func looksNumeric(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// Run dispatches `corral ctl …`.
func (c *CtlCommand) Run(ctx context.Context, args []string) error {
	fl, pos, rest, dashDash, err := parseFlags(args, map[string]bool{"socket": true, "timeout": true, "no-block": true})
	if err != nil {
		fmt.Fprint(c.Stderr, ctlUsage)
		return usageErr("%v", err)
	}
	if fl.help {
		fmt.Fprint(c.Stdout, ctlUsage)
		return nil
	}
	if len(pos) == 0 {
		fmt.Fprint(c.Stderr, ctlUsage)
		return usageErr("no family given")
	}
	switch pos[0] {
	case "with-lock", "with-semaphore":
		return c.withHeld(ctx, fl, pos, rest, dashDash)
	case "object":
		if dashDash {
			pos = append(pos, rest...)
		}
		return c.object(ctx, fl, pos[1:])
	}
	if dashDash {
		pos = append(pos, rest...)
	}
	return c.operation(ctx, fl, pos)
}

// resolve maps FAMILY OP to a method.
func resolveMethod(family, op string) (string, error) {
	fam, ok := protocol.ObjectFamilies[strings.ToLower(family)]
	if !ok {
		return "", usageErr("unknown family %q (want one of %s, or object, with-lock, with-semaphore)", family, familyList())
	}
	o := strings.ReplaceAll(strings.ToLower(op), "-", "_")
	m := fam + "." + o
	if _, ok := ctlOps[m]; !ok {
		return "", usageErr("unknown operation %q for %s (want one of %s)", op, fam, strings.Join(protocol.ObjectOps[fam], ", "))
	}
	return m, nil
}

func familyList() string {
	var fs []string
	for f := range protocol.ObjectOps {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return strings.Join(fs, ", ")
}

// opUsage is the synopsis of one method, e.g. "dict get NAME KEY [DEFAULT]".
func opUsage(method string) string {
	o := ctlOps[method]
	s := "corral ctl " + strings.Replace(method, ".", " ", 1) + " NAME"
	for _, fld := range o.fields {
		if opt, ok := strings.CutSuffix(fld, "?"); ok {
			s += " [" + strings.ToUpper(opt) + "]"
		} else {
			s += " " + strings.ToUpper(fld)
		}
	}
	for _, fld := range ctlNamedOnly[method] {
		s += " [" + fld + "=N]"
	}
	if o.timeout {
		s += " [--timeout S]"
	}
	if o.block {
		s += " [--no-block]"
	}
	return s
}

func familyUsage(fam string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Operations of %s (arguments are JSON):\n", fam)
	for _, op := range protocol.ObjectOps[fam] {
		fmt.Fprintf(&b, "  %s\n", opUsage(fam+"."+op))
	}
	return b.String()
}

// buildParams maps NAME and ARGS onto the method's params.
func buildParams(method string, fl ctlFlags, name string, args []string) (map[string]json.RawMessage, error) {
	o := ctlOps[method]
	params := map[string]json.RawMessage{}
	nameJSON, _ := json.Marshal(name)
	params["name"] = nameJSON
	known := map[string]bool{}
	for _, fld := range o.fields {
		known[strings.TrimSuffix(fld, "?")] = true
	}
	for _, fld := range ctlNamedOnly[method] {
		known[fld] = true
	}
	if o.timeout {
		known["timeout"] = true
	}
	if o.block {
		known["block"] = true
	}
	i := 0
	for _, a := range args {
		field, val := "", a
		if m := namedArg.FindStringSubmatch(a); m != nil {
			if !known[m[1]] {
				return nil, usageErr("%s has no parameter %q\nusage: %s", method, m[1], opUsage(method))
			}
			field, val = m[1], m[2]
		} else {
			if i >= len(o.fields) {
				return nil, usageErr("too many arguments: unexpected %q\nusage: %s", a, opUsage(method))
			}
			field = strings.TrimSuffix(o.fields[i], "?")
			i++
		}
		if _, dup := params[field]; dup {
			return nil, usageErr("%s given twice", field)
		}
		if !json.Valid([]byte(val)) {
			return nil, usageErr("argument %s is not JSON: %q (quote strings for the shell, e.g. '\"x\"')", strings.ToUpper(field), val)
		}
		params[field] = json.RawMessage(val)
	}
	for _, fld := range o.fields {
		if !strings.HasSuffix(fld, "?") {
			if _, ok := params[fld]; !ok {
				return nil, usageErr("missing argument %s\nusage: %s", strings.ToUpper(fld), opUsage(method))
			}
		}
	}
	if fl.timeout != nil {
		if !o.timeout {
			return nil, usageErr("%s takes no --timeout", method)
		}
		params["timeout"] = json.RawMessage(strconv.FormatFloat(*fl.timeout, 'g', -1, 64))
	}
	if fl.noBlock {
		if !o.block {
			return nil, usageErr("%s takes no --no-block", method)
		}
		params["block"] = json.RawMessage("false")
	}
	return params, nil
}

func (c *CtlCommand) operation(ctx context.Context, fl ctlFlags, pos []string) error {
	if len(pos) < 2 {
		fam, ok := protocol.ObjectFamilies[strings.ToLower(pos[0])]
		if !ok {
			_, err := resolveMethod(pos[0], "")
			return err
		}
		fmt.Fprint(c.Stderr, familyUsage(fam))
		return usageErr("no operation given")
	}
	method, err := resolveMethod(pos[0], pos[1])
	if err != nil {
		return err
	}
	if len(pos) < 3 {
		return usageErr("missing NAME\nusage: %s", opUsage(method))
	}
	name := pos[2]
	params, err := buildParams(method, fl, name, pos[3:])
	if err != nil {
		return err
	}
	conn, err := dialSupervisor(ctx, fl.socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	var result json.RawMessage
	if err := conn.Call(ctx, method, params, &result); err != nil {
		return callError(method+" "+name, err)
	}
	return c.printResult(method, result)
}

// printResult writes a result's single member, nothing for {}, or the whole
// object; a false acquire or wait exits 1. A put prints nothing: its
// answer (the queue's bound) is a hint for clients that pipeline puts.
func (c *CtlCommand) printResult(method string, result json.RawMessage) error {
	if method == "queue.put" || method == "queue.put_nowait" {
		return nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(result, &members); err != nil || members == nil {
		// Not an object: print it as it is.
		return writeCompact(c.Stdout, result)
	}
	switch len(members) {
	case 0:
		return nil
	case 1:
		for _, v := range members {
			if err := writeCompact(c.Stdout, v); err != nil {
				return err
			}
			if negativeBool(method) && string(bytes.TrimSpace(v)) == "false" {
				return &exitError{code: 1}
			}
		}
		return nil
	}
	// Several members: re-encoded so that keys come in a fixed (sorted)
	// order whatever order the supervisor wrote them in.
	b, err := json.Marshal(members)
	if err != nil {
		b = result
	}
	return writeCompact(c.Stdout, b)
}

func writeCompact(w io.Writer, v []byte) error {
	var b bytes.Buffer
	if err := stdjson.Compact(&b, v); err != nil {
		b.Reset()
		b.Write(bytes.TrimSpace(v))
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// callError classifies an error from a call: timeout, empty and full exit
// 1; anything else from the supervisor, or a lost connection, exits 3.
func callError(what string, err error) error {
	var je *jsonrpc.Error
	if errors.As(err, &je) {
		code := 3
		switch je.Code {
		case protocol.CodeTimeout, protocol.CodeEmpty, protocol.CodeFull:
			code = 1
		}
		return &exitError{code: code, err: fmt.Errorf("%s: %w", what, je)}
	}
	if errors.Is(err, jsonrpc.ErrClosed) {
		return &exitError{code: 3, err: fmt.Errorf("%s: connection to the supervisor lost", what)}
	}
	return &exitError{code: 3, err: fmt.Errorf("%s: %w", what, err)}
}

func (c *CtlCommand) object(ctx context.Context, fl ctlFlags, pos []string) error {
	if fl.timeout != nil || fl.noBlock {
		return usageErr("object operations take no --timeout or --no-block")
	}
	if len(pos) == 0 {
		return usageErr("usage: corral ctl object create KIND NAME [PARAMS-JSON] | delete NAME | list")
	}
	var method, what string
	var params any
	switch op := pos[0]; op {
	case "create":
		if len(pos) < 3 || len(pos) > 4 {
			return usageErr("usage: corral ctl object create KIND NAME [PARAMS-JSON]")
		}
		kind := strings.ToLower(pos[1])
		if _, ok := protocol.ObjectFamilies[kind]; !ok {
			return usageErr("unknown kind %q", pos[1])
		}
		p := map[string]json.RawMessage{}
		p["kind"], _ = json.Marshal(kind)
		p["name"], _ = json.Marshal(pos[2])
		if len(pos) == 4 {
			if !json.Valid([]byte(pos[3])) || !strings.HasPrefix(strings.TrimSpace(pos[3]), "{") {
				return usageErr("argument PARAMS-JSON is not a JSON object: %q", pos[3])
			}
			p["params"] = json.RawMessage(pos[3])
		}
		method, what, params = protocol.MethodObjectCreate, protocol.MethodObjectCreate+" "+pos[2], p
	case "delete":
		if len(pos) != 2 {
			return usageErr("usage: corral ctl object delete NAME")
		}
		method, what, params = protocol.MethodObjectDelete, protocol.MethodObjectDelete+" "+pos[1], protocol.NameParams{Name: pos[1]}
	case "list":
		if len(pos) != 1 {
			return usageErr("usage: corral ctl object list")
		}
		method, what, params = protocol.MethodObjectList, protocol.MethodObjectList, struct{}{}
	default:
		return usageErr("unknown object operation %q (want create, delete or list)", op)
	}
	conn, err := dialSupervisor(ctx, fl.socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	var result json.RawMessage
	if err := conn.Call(ctx, method, params, &result); err != nil {
		return callError(what, err)
	}
	if method == protocol.MethodObjectCreate {
		return writeCompact(c.Stdout, result)
	}
	return c.printResult(method, result)
}

// withHeld runs CMD holding a lock (with-lock) or a semaphore permit
// (with-semaphore) on one connection, released when CMD exits.
func (c *CtlCommand) withHeld(ctx context.Context, fl ctlFlags, pos, cmdArgs []string, dashDash bool) error {
	sub := pos[0]
	family := strings.TrimPrefix(sub, "with-")
	if len(pos) != 2 || !dashDash || len(cmdArgs) == 0 {
		return usageErr("usage: corral ctl %s NAME [--timeout S] -- CMD ARGS…", sub)
	}
	if fl.noBlock {
		if fl.timeout != nil {
			return usageErr("%s: --no-block and --timeout are exclusive", sub)
		}
		zero := 0.0
		fl.timeout = &zero // acquire now or not at all
	}
	name := pos[1]
	conn, err := dialSupervisor(ctx, fl.socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	params := protocol.ObjectWaitParams{Name: name}
	if fl.timeout != nil {
		t := protocol.Seconds(*fl.timeout)
		params.Timeout = &t
	}
	var acq struct {
		Acquired bool `json:"acquired"`
	}
	if err := conn.Call(ctx, family+".acquire", params, &acq); err != nil {
		return callError(family+".acquire "+name, err)
	}
	if !acq.Acquired {
		within := ""
		if fl.timeout != nil {
			within = fmt.Sprintf(" within %gs", *fl.timeout)
		}
		return &exitError{code: 1, err: fmt.Errorf("%s %s: not acquired%s", sub, name, within)}
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	defer signal.Stop(sigs)

	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stdin = c.Stdin
	if cmd.Stdin == nil {
		cmd.Stdin = os.Stdin
	}
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	if err := cmd.Start(); err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return &exitError{code: code, err: err}
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	lost := conn.Done()
	var werr error
loop:
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case <-lost:
			lost = nil
			fmt.Fprintf(c.Stderr, "corral ctl: %s %s: connection to the supervisor lost; the %s is no longer held\n", sub, name, family)
		case werr = <-waited:
			break loop
		}
	}
	// Release explicitly; closing the connection would do it too.
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	conn.Call(rctx, family+".release", protocol.NameParams{Name: name}, nil)
	cancel()

	if werr == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &exitError{code: 128 + int(ws.Signal())}
		}
		return &exitError{code: ee.ExitCode()}
	}
	return &exitError{code: 3, err: werr}
}

// dialSupervisor connects to the socket (--socket, else $CORRAL_SOCKET) and
// greets the supervisor as a client named ctl[PID]. Failures exit 3.
func dialSupervisor(ctx context.Context, socket string) (*jsonrpc.Conn, error) {
	if socket == "" {
		socket = os.Getenv(protocol.EnvSocket)
	}
	if socket == "" {
		return nil, &exitError{code: 3, err: fmt.Errorf("no supervisor socket: pass --socket PATH or set %s", protocol.EnvSocket)}
	}
	nc, err := net.Dial("unix", socket)
	if err != nil {
		return nil, &exitError{code: 3, err: fmt.Errorf("cannot connect to the supervisor at %s: %w", socket, err)}
	}
	conn := jsonrpc.NewConn(nc, nc, nc, jsonrpc.HandlerFunc(func(context.Context, *jsonrpc.Conn, *jsonrpc.Request) (any, error) {
		return nil, jsonrpc.Errorf(protocol.CodeMethodNotFound, "method not found: corral ctl serves no methods")
	}), jsonrpc.Options{CallerReads: true})
	conn.Start()
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hello := protocol.HelloParams{Protocol: protocol.Version, Role: "client", Name: fmt.Sprintf("ctl[%d]", os.Getpid()), Version: version}
	if err := conn.Call(hctx, protocol.MethodHello, hello, nil); err != nil {
		conn.Close()
		return nil, &exitError{code: 3, err: fmt.Errorf("hello to the supervisor at %s: %w", socket, err)}
	}
	return conn, nil
}
