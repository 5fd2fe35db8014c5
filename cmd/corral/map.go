package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/corralhq/corral/mapper"
)

const mapUsage = `Usage: corral map [flags] -- CMD [ARGS…] [::: INPUT… | :::: FILE…]

Run CMD once per input, N at a time. Inputs are the lines of stdin, the
arguments after :::, or the lines of the files after :::: ("-" is stdin).

Modes (--mode):
  exec   a process per input (default). The input is substituted into ARGS
         with GNU parallel's replacement strings, or appended as the last
         argument when ARGS has none:
           {}  input          {.}  input without extension   {/}  basename
           {//} directory     {/.} basename without extension
           {#} job number     {%}  job slot (1…N)
         Arguments go to CMD as they are, never through a shell.
  lines  one long-lived filter per worker (CMD reads lines on stdin and
         prints one line per line read); many lines in flight per filter.
  rpc    long-lived workers speaking the corral protocol; each input is the
         one argument of a call to --fn (default: the worker's only
         function): a string, or with --json the JSON value on the line.
         String results print as text, others as JSON.

Flags:
  -j, --jobs N          workers (default: the number of CPUs)
  -k, --keep-order      print results in input order (default: as they finish)
  -0, --null            inputs are separated by NUL, not newline
      --tag             prefix each output line with its input and a tab
      --timeout D       stop a job after D (e.g. 30s, 1.5 = seconds): SIGTERM,
                        grace, SIGKILL; in lines mode, a filter that gives no
                        answer for D is stopped
      --retries N       run a failed job up to N more times
      --halt WHEN,WHAT=N  stop early: now,fail=1 (kill running jobs at the
                        first failure), soon,fail=N (start no new jobs after N
                        failures), now,success=1, soon,fail=10%, or never
      --joblog FILE     log each job in GNU parallel's format
      --resume          skip jobs the job log lists as done
      --resume-failed   skip jobs the job log lists as succeeded; rerun the rest
      --bar             progress bar with rate and ETA on stderr (terminal only)
      --pty             lines mode: the filter's stdout is a terminal, so
                        programs that block-buffer on a pipe answer line by line
      --fn NAME         rpc mode: the function to call
      --json            rpc mode: each input is a JSON value, passed as the
                        argument as it is (default: the input as a string)
      --grace D         time between SIGTERM and SIGKILL (default 2s)
  -q, --quiet           no message per failed job

Jobs get PYTHONUNBUFFERED=1 (unless it is set), CORRAL_SEQ, CORRAL_SLOT and
CORRAL_SOCKET: the run hosts shared state for its jobs (corral ctl), unless
CORRAL_SOCKET already names a supervisor.

Exit status: 0 when every job succeeded; otherwise the number of failed jobs,
capped at 101 (GNU parallel's convention). With --halt, the status of the job
that caused the halt (0 for success=). 127 when CMD is not found, 2 for a
usage error, 255 when the run could not go on.
`

// MapCommand is `corral map`.
type MapCommand struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Run parses args and runs the map.
func (c *MapCommand) Run(ctx context.Context, args []string) error {
	opts, help, err := parseMapArgs(args)
	if help {
		fmt.Fprint(c.Stdout, mapUsage)
		return nil
	}
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%v (see corral map --help)", err)}
	}
	opts.Stdin, opts.Stdout, opts.Stderr = c.Stdin, c.Stdout, c.Stderr
	opts.Version = version
	if opts.Bar {
		f, ok := c.Stderr.(*os.File)
		opts.Bar = ok && isatty.IsTerminal(f.Fd())
	}
	if log, err := newLogger(c.Stderr, "warn", "auto"); err == nil {
		opts.Log = log
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := mapper.Run(ctx, opts)
	if ctx.Err() != nil && err == nil {
		return &exitError{code: 130, err: errors.New("interrupted; running jobs were stopped")}
	}
	if err != nil {
		var se *mapper.StatusError
		if errors.As(err, &se) {
			return &exitError{code: se.Status, err: se.Err}
		}
		return err
	}
	if res.Status != 0 {
		return &exitError{code: res.Status}
	}
	return nil
}

// parseMapArgs reads GNU parallel-style flags: -j2 and -j 2, --jobs=2,
// clustered short booleans (-k0), and the command after them or after --.
func parseMapArgs(args []string) (mapper.Options, bool, error) {
	var o mapper.Options
	o.Mode = mapper.ModeExec
	i := 0
	value := func(name, inline string, hasInline bool) (string, error) {
		if hasInline {
			return inline, nil
		}
		if i+1 >= len(args) {
			return "", fmt.Errorf("%s needs a value", name)
		}
		i++
		return args[i], nil
	}
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") || a == ":::" || a == "::::" {
			break
		}
		name, inline, hasInline := strings.Cut(a, "=")
		if !strings.HasPrefix(a, "--") && len(a) > 2 {
			// Short flags: -j2, -k0, -kj2.
			var err error
			if name, inline, hasInline, err = shortCluster(a, &o); err != nil {
				return o, false, err
			}
			if name == "" {
				continue
			}
		}
		var err error
		var v string
		switch name {
		case "-h", "--help":
			return o, true, nil
		case "-k", "--keep-order":
			o.KeepOrder = true
		case "-0", "--null":
			o.Null = true
		case "--tag":
			o.Tag = true
		case "--bar":
			o.Bar = true
		case "--pty":
			o.PTY = true
		case "--json":
			o.JSON = true
		case "--resume":
			o.Resume = true
		case "--resume-failed":
			o.ResumeFailed = true
		case "-q", "--quiet":
			o.Quiet = true
		case "-j", "--jobs":
			if v, err = value(name, inline, hasInline); err == nil {
				o.Jobs, err = parseJobs(v)
			}
		case "--mode":
			if v, err = value(name, inline, hasInline); err == nil {
				o.Mode = v
			}
		case "--timeout":
			if v, err = value(name, inline, hasInline); err == nil {
				o.Timeout, err = parseDuration(name, v)
			}
		case "--grace":
			if v, err = value(name, inline, hasInline); err == nil {
				o.Grace, err = parseDuration(name, v)
			}
		case "--retries":
			if v, err = value(name, inline, hasInline); err == nil {
				o.Retries, err = strconv.Atoi(v)
				if err != nil || o.Retries < 0 {
					err = fmt.Errorf("--retries %q: want a whole number, 0 or more", v)
				}
			}
		case "--halt":
			if v, err = value(name, inline, hasInline); err == nil {
				o.Halt, err = mapper.ParseHalt(v)
			}
		case "--joblog":
			if v, err = value(name, inline, hasInline); err == nil {
				o.Joblog = v
			}
		case "--fn":
			if v, err = value(name, inline, hasInline); err == nil {
				o.Fn = v
			}
		default:
			return o, false, fmt.Errorf("unknown flag %s", a)
		}
		if err != nil {
			return o, false, err
		}
	}
	cmd := args[i:]
	if len(cmd) == 0 || cmd[0] == ":::" || cmd[0] == "::::" {
		return o, false, errors.New("no command: usage is corral map [flags] -- CMD [ARGS…]")
	}
	o.Command = cmd[0]
	rest := cmd[1:]
	for j, a := range rest {
		if a != ":::" && a != "::::" {
			continue
		}
		o.Args = rest[:j]
		src := rest[j+1:]
		for _, s := range src {
			if s == ":::" || s == "::::" {
				return o, false, errors.New("only one input source (one ::: or :::: list) is supported")
			}
		}
		if a == ":::" {
			o.InputArgs = append([]string{}, src...)
		} else {
			if len(src) == 0 {
				return o, false, errors.New(":::: needs at least one file")
			}
			o.Files = src
		}
		return o, false, nil
	}
	o.Args = rest
	return o, false, nil
}

// shortCluster reads one argument of short flags. It returns a flag that
// takes a value (with the value, when it was attached), or "" when every
// letter was a boolean flag it has set.
func shortCluster(a string, o *mapper.Options) (name, inline string, hasInline bool, err error) {
	for k := 1; k < len(a); k++ {
		switch a[k] {
		case 'k':
			o.KeepOrder = true
		case '0':
			o.Null = true
		case 'q':
			o.Quiet = true
		case 'h':
			return "-h", "", false, nil
		case 'j':
			if k+1 < len(a) {
				return "-j", strings.TrimPrefix(a[k+1:], "="), true, nil
			}
			return "-j", "", false, nil
		default:
			return "", "", false, fmt.Errorf("unknown flag -%c in %s", a[k], a)
		}
	}
	return "", "", false, nil
}

func parseJobs(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("-j %q: the number of workers must be a whole number of at least 1", v)
	}
	return n, nil
}

// parseDuration takes Go durations (1m30s, 500ms) and plain seconds (5,
// 0.5), as parallel's --timeout does.
func parseDuration(name, v string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q: want a duration such as 30s, 1m or 1.5", name, v)
	}
	return d, nil
}
