package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/corralhq/corral/supervisor"
)

// ServeCommand runs a supervisor.
type ServeCommand struct {
	Stdout, Stderr io.Writer
}

// Run parses flags and serves until the client (in --stdio mode) goes away
// or a signal arrives. SIGTERM or SIGINT drains: no new tasks, running ones
// finish, then workers are stopped; a second one stops everything at once.
func (c *ServeCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(c.Stderr)
	stdio := fs.Bool("stdio", false, "serve one client on stdin/stdout (the sidecar form); exit when stdin closes")
	fds := fs.String("fds", "", "serve one client on the inherited file descriptors `R,W` (it reads R, writes W), as --stdio does, leaving stdout to children with output \"inherit\"; exit when R closes")
	socket := fs.String("socket", "", "Unix socket `path` (default: a new private directory)")
	config := fs.String("config", "", "TOML config `file` declaring pools")
	maxMessage := fs.Int("max-message", 0, "largest accepted message in `bytes` (default 64 MiB)")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn, error")
	logFormat := fs.String("log-format", "auto", "log `format`: auto (console on a terminal, else JSON), console, json")
	drainTimeout := fs.Duration("drain-timeout", 30*time.Second, "on SIGTERM, how long running tasks get to finish")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile to `file` (diagnostics)")
	fs.Usage = func() {
		fmt.Fprintf(c.Stderr, "Usage: corral serve [flags]\n\nRun a supervisor. Clients connect on stdio (--stdio) or the Unix socket.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return &exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	var linkR, linkW int
	if *fds != "" {
		if *stdio {
			return &exitError{code: 2, err: errors.New("--stdio and --fds are exclusive")}
		}
		var err error
		if linkR, linkW, err = parseFDs(*fds); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	log, err := newLogger(c.Stderr, *logLevel, *logFormat)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("--cpuprofile: %w", err)}
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	var cfg *supervisor.Config
	if *config != "" {
		if cfg, err = supervisor.LoadConfig(*config); err != nil {
			return &exitError{code: 2, err: err}
		}
	} else {
		cfg = &supervisor.Config{}
	}
	if *maxMessage > 0 {
		cfg.MaxMessage = *maxMessage
	}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	opts := supervisor.Options{Config: cfg, Log: log, Version: version, Socket: *socket}
	if exe, err := os.Executable(); err == nil {
		opts.Adapter = exe // runs lines and exec pools' workers
	}
	if *stdio {
		// stdout is the client's link: children's inherited output goes
		// to stderr.
		opts.Stdout = os.Stderr
	}
	s, err := supervisor.New(opts)
	if err != nil {
		return err
	}
	startCtx, cancelStart := context.WithCancel(ctx)
	defer cancelStart()
	go func() {
		// A signal during start-up abandons it.
		select {
		case <-sigs:
			cancelStart()
		case <-startCtx.Done():
		}
	}()
	if err := s.Start(startCtx); err != nil {
		return err
	}
	cancelStart()
	log.Info().Str("socket", s.SocketPath()).Int("pid", os.Getpid()).Str("version", version).Msg("corral serving")

	var clientGone <-chan struct{}
	if *stdio {
		in, restoreIn := pollable(0, "/dev/stdin")
		defer restoreIn()
		out, restoreOut := pollable(1, "/dev/stdout")
		defer restoreOut()
		clientGone = s.ServeConn(in, out, in, "stdio")
	} else if *fds != "" {
		in, restoreIn := pollable(linkR, "link-r")
		defer restoreIn()
		out, restoreOut := pollable(linkW, "link-w")
		defer restoreOut()
		clientGone = s.ServeConn(in, out, in, "fds")
	}
	for {
		select {
		case <-clientGone:
			log.Info().Msg("stdin closed: stopping")
			return s.Close()
		case <-ctx.Done():
			return s.Close()
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				log.Warn().Msg("SIGHUP: configuration reload is not supported; ignoring")
				continue
			}
			log.Info().Str("signal", sig.String()).Dur("timeout", *drainTimeout).
				Msg("draining: no new tasks; a second signal stops at once")
			dctx, cancel := context.WithTimeout(ctx, *drainTimeout)
			go func() {
				select {
				case <-sigs:
					log.Warn().Msg("second signal: stopping now")
					cancel()
				case <-clientGone:
					cancel()
				case <-dctx.Done():
				}
			}()
			if err := s.Drain(dctx); err != nil {
				log.Warn().Err(err).Msg("drain cut short")
			}
			cancel()
			return s.Close()
		}
	}
}

// parseFDs reads --fds R,W: two distinct open descriptors other than
// 0, 1 and 2. They are marked close-on-exec so that workers do not inherit
// the client's link.
func parseFDs(v string) (r, w int, err error) {
	bad := func(why string) (int, int, error) {
		return 0, 0, fmt.Errorf("--fds %q: %s", v, why)
	}
	rs, ws, ok := strings.Cut(v, ",")
	if !ok {
		return bad("want two file descriptors R,W")
	}
	if r, err = strconv.Atoi(strings.TrimSpace(rs)); err != nil {
		return bad("R is not a number")
	}
	if w, err = strconv.Atoi(strings.TrimSpace(ws)); err != nil {
		return bad("W is not a number")
	}
	if r < 3 || w < 3 || r == w {
		return bad("want two distinct descriptors above 2")
	}
	for _, fd := range []int{r, w} {
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			return bad(fmt.Sprintf("descriptor %d is not open: %v", fd, err))
		}
		syscall.CloseOnExec(fd)
	}
	return r, w, nil
}

// pollable returns fd in non-blocking mode, served by the runtime's poller:
// closing stdin then interrupts a pending read, and a reply to the client is
// written without parking a thread. The function restores blocking mode.
func pollable(fd int, name string) (*os.File, func()) {
	if err := syscall.SetNonblock(fd, true); err != nil {
		return os.NewFile(uintptr(fd), name), func() {}
	}
	return os.NewFile(uintptr(fd), name), func() { syscall.SetNonblock(fd, false) }
}

func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lv, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("--log-level: want debug, info, warn or error, got %q", level)
	}
	out := w
	switch format {
	case "auto":
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000"}
		}
	case "console":
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05.000", NoColor: true}
	case "json":
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format: want auto, console or json, got %q", format)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(out).Level(lv).With().Timestamp().Logger(), nil
}
