package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	json "github.com/segmentio/encoding/json"

	"github.com/corralhq/corral/protocol"
)

const statusUsage = `Usage: corral status [--socket PATH] [--json]

Summarise a running supervisor (on --socket, else $CORRAL_SOCKET): its pid,
version and socket; each pool; the processes it started; its shared objects
with queue depths, lock and semaphore holders, and waiters. --json prints
corral.status's result as it is.

Exit status: 0 success, 2 usage error, 3 no connection or an error from the
supervisor.
`

// StatusCommand prints what a supervisor is running.
type StatusCommand struct {
	Stdout, Stderr io.Writer
}

// Run calls corral.status and prints it.
func (c *StatusCommand) Run(ctx context.Context, args []string) error {
	fl, pos, rest, _, err := parseFlags(args, map[string]bool{"socket": true, "json": true})
	if err == nil && (len(pos) > 0 || len(rest) > 0) {
		err = fmt.Errorf("unexpected argument %q", append(pos, rest...)[0])
	}
	if err != nil {
		fmt.Fprint(c.Stderr, statusUsage)
		return usageErr("%v", err)
	}
	if fl.help {
		fmt.Fprint(c.Stdout, statusUsage)
		return nil
	}
	conn, err := dialSupervisor(ctx, fl.socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	var raw json.RawMessage
	if err := conn.Call(ctx, protocol.MethodStatus, struct{}{}, &raw); err != nil {
		return callError(protocol.MethodStatus, err)
	}
	if fl.json {
		return writeCompact(c.Stdout, raw)
	}
	var st protocol.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return &exitError{code: 3, err: fmt.Errorf("corral.status: bad result: %w", err)}
	}
	return writeStatus(c.Stdout, &st)
}

func writeStatus(out io.Writer, st *protocol.Status) error {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "supervisor  pid %d  version %s  socket %s\n", st.Pid, st.Version, st.Socket)

	fmt.Fprintf(w, "\npools (%d)\n", len(st.Pools))
	if len(st.Pools) > 0 {
		fmt.Fprintln(w, "  NAME\tSTATE\tWORKERS\tBUSY\tIDLE\tQUEUED\tDONE\tFAILED\tRESTARTS\tCOMMAND")
		for _, p := range st.Pools {
			fmt.Fprintf(w, "  %s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", p.Name, p.State, p.Workers, p.Busy, p.Idle,
				p.Queued, p.Done, p.Failed, p.Restarts, p.Command)
		}
	}

	fmt.Fprintf(w, "\nprocesses (%d)\n", len(st.Processes))
	if len(st.Processes) > 0 {
		fmt.Fprintln(w, "  NAME\tPID\tSTATE\tCOMMAND")
		for _, p := range st.Processes {
			state := "alive"
			switch {
			case p.Alive:
			case p.ExitCode == nil:
				state = "exited"
			case *p.ExitCode < 0:
				state = fmt.Sprintf("killed by signal %d", -*p.ExitCode)
			default:
				state = fmt.Sprintf("exited %d", *p.ExitCode)
			}
			fmt.Fprintf(w, "  %s\t%d\t%s\t%s\n", p.Name, p.Pid, state, p.Command)
		}
	}

	fmt.Fprintf(w, "\nobjects (%d)\n", len(st.Objects))
	if len(st.Objects) > 0 {
		fmt.Fprintln(w, "  KIND\tNAME\tDEPTH\tHOLDERS\tWAITERS\tDETAIL")
		for _, o := range st.Objects {
			depth := "-"
			if protocol.ObjectFamilies[o.Kind] == "queue" || o.Depth > 0 {
				depth = strconv.Itoa(o.Depth)
			}
			holders := "-"
			if len(o.Holders) > 0 {
				holders = strings.Join(o.Holders, ",")
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%d\t%s\n", o.Kind, o.Name, depth, holders, o.Waiters, o.Detail)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// tabwriter pads an empty last column; trim it.
	var b strings.Builder
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if t, ok := strings.CutSuffix(line, "\n"); ok {
			b.WriteString(strings.TrimRight(t, " ") + "\n")
		} else {
			b.WriteString(line)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}
