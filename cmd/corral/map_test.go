package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	corral "github.com/corralhq/corral/clients/go"
)

// mapWorkerEnv makes the test binary an rpc worker for corral map: "upper"
// serves upper only; "two" serves upper and lower.
const mapWorkerEnv = "CORRAL_MAP_TEST_WORKER"

func init() {
	mode := os.Getenv(mapWorkerEnv)
	if mode == "" {
		return
	}
	w := corral.NewWorker("map-test-" + mode)
	corral.Handle(w, "upper", func(_ context.Context, s string) (string, error) {
		if s == "boom" {
			return "", errors.New("boom is not allowed")
		}
		return strings.ToUpper(s), nil
	})
	if mode == "two" {
		corral.Handle(w, "lower", func(_ context.Context, s string) (string, error) { return strings.ToLower(s), nil })
	}
	if err := w.Serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

const py311 = "/root/.pyenv/versions/3.11.7/bin/python3"

type mapResult struct {
	out, err string
	code     int
	elapsed  time.Duration
}

// mapCmd is `corral map ARGS…` with a hard time limit, so a hang fails the
// test instead of the suite.
func mapCmd(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, corralBin, append([]string{"map"}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runMap runs corral map with stdin and returns what it printed.
func runMap(t *testing.T, stdin string, args ...string) mapResult {
	t.Helper()
	return runMapEnv(t, nil, stdin, args...)
}

func runMapEnv(t *testing.T, env []string, stdin string, args ...string) mapResult {
	t.Helper()
	cmd := mapCmd(t, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	res := mapResult{out: out.String(), err: errb.String(), elapsed: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		res.code = ee.ExitCode()
	default:
		t.Fatalf("corral map %q: %v (stderr %s)", args, err, errb.String())
	}
	return res
}

func (r mapResult) lines() []string {
	if r.out == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(r.out, "\n"), "\n")
}

func (r mapResult) want(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%.2000s\nstderr:\n%.2000s", r.code, code, r.out, r.err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// envWithout is the test's environment without the named variables.
func envWithout(names ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(names, name) {
			env = append(env, kv)
		}
	}
	return env
}

func TestMapInputSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f1, f2 := filepath.Join(dir, "f1"), filepath.Join(dir, "f2")
	os.WriteFile(f1, []byte("f1a\nf1b\n"), 0o644)
	os.WriteFile(f2, []byte("f2a"), 0o644) // no final newline
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  []string
	}{
		{"stdin", "a\nb\nc\n", []string{"-k", "echo", "x"}, []string{"x a", "x b", "x c"}},
		{"stdin without final newline", "a\nb", []string{"-k", "echo"}, []string{"a", "b"}},
		{"stdin with empty lines", "a\n\nb\n", []string{"-k", "echo", "[{}]"}, []string{"[a]", "[]", "[b]"}},
		{":::", "ignored\n", []string{"-k", "--", "echo", "{}", ":::", "a", "b c", "d"}, []string{"a", "b c", "d"}},
		{"::::", "", []string{"-k", "echo", "::::", f1, f2}, []string{"f1a", "f1b", "f2a"}},
		{":::: with -", "s1\ns2\n", []string{"-k", "echo", "::::", f1, "-"}, []string{"f1a", "f1b", "s1", "s2"}},
		{"-0", "a b\x00c\nd\x00", []string{"-k", "-0", "echo", "[{}]"}, []string{"[a b]", "[c", "d]"}},
		{"--null", "a\x00b", []string{"-k", "--null", "echo"}, []string{"a", "b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := runMap(t, c.stdin, c.args...)
			r.want(t, 0)
			if got := r.lines(); !slices.Equal(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	// Without -k every input still runs exactly once.
	r := runMap(t, "", "-j4", "echo", ":::", "1", "2", "3", "4", "5", "6", "7", "8")
	r.want(t, 0)
	if got := sorted(r.lines()); !slices.Equal(got, []string{"1", "2", "3", "4", "5", "6", "7", "8"}) {
		t.Fatalf("unordered run: %q", got)
	}
}

// -j N runs N jobs at once: each job waits until N have started, which
// can only finish when N run together. {%} gives each its own slot.
func TestMapJobs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := `touch "$D/$1"; n=0; while [ "$(ls "$D" | wc -l)" -lt 3 ]; do sleep 0.02; n=$((n+1)); [ $n -gt 1000 ] && exit 9; done; echo "slot $2"`
	cmd := mapCmd(t, "-j", "3", "--", "sh", "-c", script, "sh", "{}", "{%}", ":::", "a", "b", "c")
	cmd.Env = append(os.Environ(), "D="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("three jobs did not run at once with -j 3: %v\n%s", err, out)
	}
	if got := sorted(strings.Fields(strings.ReplaceAll(string(out), "slot", ""))); !slices.Equal(got, []string{"1", "2", "3"}) {
		t.Fatalf("slots %q, want 1 2 3", got)
	}
	for _, j := range []string{"0", "-1", "x"} {
		r := runMap(t, "", "-j", j, "echo", ":::", "a")
		r.want(t, 2)
		if r.out != "" || !strings.Contains(r.err, "-j") {
			t.Fatalf("-j %s: stdout %q stderr %q", j, r.out, r.err)
		}
	}
	// -j2 and --jobs=2 spellings.
	for _, flag := range [][]string{{"-j2"}, {"--jobs=2"}, {"--jobs", "2"}, {"-kj2"}} {
		r := runMap(t, "", append(flag, "echo", ":::", "a", "b")...)
		r.want(t, 0)
		if len(r.lines()) != 2 {
			t.Fatalf("%q: %q", flag, r.out)
		}
	}
}

func TestMapExecSubstitutions(t *testing.T) {
	t.Parallel()
	r := runMap(t, "", "-k", "-j2", "--", "printf", "%s|", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "pre{}post", "x{/.}.png",
		":::", "dir/sub/file.tar.gz", "plain", "/abs.d/x")
	r.want(t, 0)
	want := "dir/sub/file.tar.gz|dir/sub/file.tar|file.tar.gz|dir/sub|file.tar|1|predir/sub/file.tar.gzpost|xfile.tar.png|" +
		"plain|plain|plain|.|plain|2|preplainpost|xplain.png|" +
		"/abs.d/x|/abs.d/x|x|/abs.d|x|3|pre/abs.d/xpost|xx.png|"
	if r.out != want {
		t.Fatalf("got\n%s\nwant\n%s", r.out, want)
	}
	// No replacement string: the input is the last argument.
	r = runMap(t, "a b\n", "printf", "<%s>")
	r.want(t, 0)
	if r.out != "<a b>" {
		t.Fatalf("appended input: %q", r.out)
	}
	// {#} counts inputs; CORRAL_SEQ and CORRAL_SLOT are in the environment.
	r = runMap(t, "", "-k", "-j1", "sh", "-c", `echo "$CORRAL_SEQ $CORRAL_SLOT $0"`, "{#}", ":::", "a", "b")
	r.want(t, 0)
	if r.out != "1 1 1\n2 1 2\n" {
		t.Fatalf("seq/slot: %q", r.out)
	}
}

// Inputs reach the command as one argument each, byte for byte, never
// through a shell.
func TestMapArgvIntact(t *testing.T) {
	t.Parallel()
	inputs := []string{
		"two words", "  lead and trail  ", `it's`, `say "hi"`, "$HOME", "$(touch /tmp/corral-pwned)", "`id`",
		`back\slash`, `\n`, "-n", "--help", "-", "*", "~", "a;b|c&d", "{}", "\t", "\xff\xfe\x80",
	}
	check := func(t *testing.T, r mapResult, want []string) {
		t.Helper()
		r.want(t, 0)
		got := strings.Split(strings.TrimSuffix(r.out, "\x00"), "\x00")
		if !slices.Equal(got, want) {
			t.Fatalf("argv\n got %q\nwant %q", got, want)
		}
	}
	t.Run(":::", func(t *testing.T) {
		t.Parallel()
		check(t, runMap(t, "", append([]string{"-k", "--", "printf", `%s\0`, ":::"}, inputs...)...), inputs)
	})
	t.Run("stdin", func(t *testing.T) {
		t.Parallel()
		check(t, runMap(t, strings.Join(inputs, "\n")+"\n", "-k", "printf", `%s\0`), inputs)
	})
	t.Run("stdin -0 with newlines", func(t *testing.T) {
		t.Parallel()
		withNL := append(slices.Clone(inputs), "line1\nline2", "\n", "trailing\n")
		check(t, runMap(t, strings.Join(withNL, "\x00")+"\x00", "-k", "-0", "printf", `%s\0`), withNL)
	})
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		want := make([]string, len(inputs))
		for i, in := range inputs {
			want[i] = "<" + in + ">"
		}
		check(t, runMap(t, "", append([]string{"-k", "--", "printf", `%s\0`, "<{}>", ":::"}, inputs...)...), want)
	})
	if _, err := os.Stat("/tmp/corral-pwned"); err == nil {
		t.Fatal("an input went through a shell")
	}
}

// -k prints in input order whatever order jobs finish in; without it,
// output comes as jobs finish.
func TestMapKeepOrder(t *testing.T) {
	t.Parallel()
	delays := []string{"0.8", "0.5", "0.2", "0"}
	r := runMap(t, "", append([]string{"-k", "-j4", "sh", "-c", `sleep "$0"; echo "$0"`, ":::"}, delays...)...)
	r.want(t, 0)
	if got := r.lines(); !slices.Equal(got, delays) {
		t.Fatalf("-k: %q", got)
	}
	r = runMap(t, "", "-j2", "sh", "-c", `sleep "$0"; echo "$0"`, ":::", "3", "0")
	r.want(t, 0)
	if got := r.lines(); !slices.Equal(got, []string{"0", "3"}) {
		t.Fatalf("without -k the quick job should print first: %q", got)
	}
}

// Output of concurrent jobs is grouped per job: never mixed mid-line nor
// line by line.
func TestMapGroupsOutput(t *testing.T) {
	t.Parallel()
	// Each job writes its lines in two pieces, flushing after each.
	prog := `BEGIN { for (i = 0; i < 3000; i++) { printf "%s-%d-", ARGV[1], i; fflush(); printf "end\n"; fflush() } }`
	r := runMap(t, "", "-j3", "awk", prog, ":::", "A", "B", "C")
	r.want(t, 0)
	lines := r.lines()
	if len(lines) != 9000 {
		t.Fatalf("%d lines", len(lines))
	}
	re := regexp.MustCompile(`^([ABC])-(\d+)-end$`)
	for k := range 3 {
		block := lines[k*3000 : (k+1)*3000]
		var job string
		for i, l := range block {
			m := re.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("line %d mixed: %q", k*3000+i, l)
			}
			if i == 0 {
				job = m[1]
			}
			if m[1] != job || m[2] != strconv.Itoa(i) {
				t.Fatalf("line %d: %q inside job %s's output", k*3000+i, l, job)
			}
		}
	}
	// stderr is grouped too.
	r = runMap(t, "", "-j2", "sh", "-c", `for i in 1 2 3 4 5 6 7 8 9; do echo "$0 $i" >&2; sleep 0.01; done`, ":::", "X", "Y")
	r.want(t, 0)
	errLines := strings.Split(strings.TrimSpace(r.err), "\n")
	if len(errLines) != 18 || strings.Fields(errLines[0])[0] != strings.Fields(errLines[8])[0] {
		t.Fatalf("stderr not grouped:\n%s", r.err)
	}
}

func TestMapTag(t *testing.T) {
	t.Parallel()
	r := runMap(t, "", "-k", "--tag", "printf", `one\ntwo\n`, ":::", "a", "b c")
	r.want(t, 0)
	if r.out != "a\tone\na\ttwo\nb c\tone\nb c\ttwo\n" {
		t.Fatalf("exec --tag: %q", r.out)
	}
	r = runMap(t, "x\ny\n", "-k", "--tag", "--mode", "lines", "tr", "a-z", "A-Z")
	r.want(t, 0)
	if r.out != "x\tX\ny\tY\n" {
		t.Fatalf("lines --tag: %q", r.out)
	}
}

// --timeout stops a job that ignores SIGTERM with SIGKILL after the grace.
func TestMapTimeout(t *testing.T) {
	t.Parallel()
	r := runMap(t, "", "-k", "-j2", "--timeout", "0.5", "--grace", "300ms",
		"sh", "-c", `if [ "$0" = slow ]; then trap "" TERM; sleep 30; fi; echo "$0 done"`, ":::", "slow", "quick")
	r.want(t, 1)
	if r.elapsed > 20*time.Second {
		t.Fatalf("took %s: the job ignoring SIGTERM was not killed", r.elapsed)
	}
	if r.out != "quick done\n" {
		t.Fatalf("stdout %q", r.out)
	}
	if !strings.Contains(r.err, "timed out") || !strings.Contains(r.err, "slow") {
		t.Fatalf("stderr %q", r.err)
	}
	r = runMap(t, "", "--timeout", "1m30s", "true", ":::", "a")
	r.want(t, 0)
	r = runMap(t, "", "--timeout", "soon", "true", ":::", "a")
	r.want(t, 2)
}

// --retries reruns a failed job: this one fails the first time and
// succeeds the second.
func TestMapRetries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := `f="$D/$0"; n=$(cat "$f" 2>/dev/null || echo 0); n=$((n+1)); echo $n >"$f"; echo "$0 try $n"; [ $n -ge 2 ]`
	env := append(os.Environ(), "D="+dir)
	r := runMapEnv(t, env, "", "-k", "--retries", "1", "sh", "-c", script, ":::", "a", "b")
	r.want(t, 0)
	if r.out != "a try 2\nb try 2\n" {
		t.Fatalf("stdout %q: only the last attempt's output is wanted", r.out)
	}
	r = runMapEnv(t, env, "", "--retries", "0", "sh", "-c", script, ":::", "c")
	r.want(t, 1)
	r = runMapEnv(t, env, "", "--retries", "3", "sh", "-c", `echo x >>"$D/$0"; false`, ":::", "d")
	r.want(t, 1)
	if data, _ := os.ReadFile(filepath.Join(dir, "d")); strings.Count(string(data), "x") != 4 {
		t.Fatalf("--retries 3 ran %d times, want 4", strings.Count(string(data), "x"))
	}
}

func TestMapHalt(t *testing.T) {
	t.Parallel()
	t.Run("now,fail=1", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := runMapEnv(t, append(os.Environ(), "D="+dir), "", "-j3", "--grace", "200ms", "--halt", "now,fail=1", "sh", "-c",
			`if [ "$0" = bad ]; then sleep 0.3; exit 3; fi; sleep 30; touch "$D/$0"`, ":::", "s1", "bad", "s2", "s3", "s4")
		r.want(t, 3)
		if r.elapsed > 20*time.Second {
			t.Fatalf("took %s: running jobs were not killed", r.elapsed)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Fatalf("%d jobs finished after the halt", len(ents))
		}
		if !strings.Contains(r.err, "halt") {
			t.Fatalf("stderr %q", r.err)
		}
	})
	t.Run("now,fail=1 with -k", func(t *testing.T) {
		t.Parallel()
		// The failure comes second in input order, behind a slow job: the
		// halt must not wait for the slow job's turn to print.
		r := runMap(t, "", "-k", "-j2", "--grace", "200ms", "--halt", "now,fail=1", "sh", "-c",
			`if [ "$0" = bad ]; then sleep 0.2; exit 5; fi; sleep 30; echo "$0 finished"`, ":::", "slow", "bad", "next")
		r.want(t, 5)
		if r.elapsed > 20*time.Second || r.out != "" {
			t.Fatalf("took %s, stdout %q", r.elapsed, r.out)
		}
	})
	t.Run("soon,fail=2", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := runMapEnv(t, append(os.Environ(), "D="+dir), "", "-j1", "--halt", "soon,fail=2", "sh", "-c",
			`touch "$D/$0"; [ "$0" != f1 ] && [ "$0" != f2 ]`, ":::", "ok1", "f1", "ok2", "f2", "ok3", "ok4")
		r.want(t, 1)
		for _, in := range []string{"ok1", "f1", "ok2", "f2"} {
			if _, err := os.Stat(filepath.Join(dir, in)); err != nil {
				t.Fatalf("%s did not run", in)
			}
		}
		for _, in := range []string{"ok3", "ok4"} {
			if _, err := os.Stat(filepath.Join(dir, in)); err == nil {
				t.Fatalf("%s ran after the second failure", in)
			}
		}
	})
	t.Run("soon lets running jobs finish", func(t *testing.T) {
		t.Parallel()
		r := runMap(t, "", "-j2", "--halt", "soon,fail=1", "sh", "-c",
			`if [ "$0" = bad ]; then exit 4; fi; sleep 1; echo "$0 finished"`, ":::", "slow", "bad", "never")
		r.want(t, 4)
		if r.out != "slow finished\n" {
			t.Fatalf("stdout %q", r.out)
		}
	})
	t.Run("now,success=1", func(t *testing.T) {
		t.Parallel()
		r := runMap(t, "", "-j3", "--grace", "200ms", "--halt", "now,success=1", "sh", "-c",
			`if [ "$0" = good ]; then sleep 0.2; echo found; exit 0; fi; sleep 30; exit 1`, ":::", "a", "good", "b", "c")
		r.want(t, 0)
		if r.elapsed > 20*time.Second || r.out != "found\n" {
			t.Fatalf("took %s, stdout %q", r.elapsed, r.out)
		}
	})
	t.Run("bad", func(t *testing.T) {
		t.Parallel()
		r := runMap(t, "", "--halt", "sometime", "true", ":::", "a")
		r.want(t, 2)
	})
}

// The exit status counts failed jobs, capped at 101.
func TestMapExitStatus(t *testing.T) {
	t.Parallel()
	r := runMap(t, "", "-j4", "sh", "-c", `exit $0`, ":::", "0", "1", "0", "2", "5")
	r.want(t, 3)
	many := make([]string, 150)
	for i := range many {
		many[i] = strconv.Itoa(i)
	}
	r = runMap(t, strings.Join(many, "\n")+"\n", "-j8", "-q", "false")
	r.want(t, 101)
	if r.err != "" {
		t.Fatalf("-q still printed %q", r.err)
	}
	r = runMap(t, "", "false", ":::", "a")
	r.want(t, 1)
	if !strings.Contains(r.err, "job 1 failed") || !strings.Contains(r.err, "exit status 1") {
		t.Fatalf("failure message %q", r.err)
	}
}

var joblogRow = regexp.MustCompile(`^(\d+)\t:\t\d+\.\d+\t\d+\.\d+\t\d+\t\d+\t(-?\d+)\t(\d+)\t(.*)$`)

type logRow struct {
	seq, exit, signal int
	command           string
}

func readLog(t *testing.T, path string) []logRow {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if lines[0] != "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand" {
		t.Fatalf("joblog header %q", lines[0])
	}
	var rows []logRow
	for _, l := range lines[1:] {
		if n := strings.Count(l, "\t"); n != 8 {
			t.Fatalf("joblog row %q has %d tabs, want 8", l, n)
		}
		m := joblogRow.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("joblog row %q", l)
		}
		seq, _ := strconv.Atoi(m[1])
		exit, _ := strconv.Atoi(m[2])
		sig, _ := strconv.Atoi(m[3])
		rows = append(rows, logRow{seq, exit, sig, m[4]})
	}
	return rows
}

func TestMapJoblog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	r := runMap(t, "", "-j2", "--timeout", "0.3", "--grace", "100ms", "--joblog", log, "sh", "-c", `[ "$0" = hang ] && exec sleep 30; exit $0`,
		":::", "0", "3", "hang", "0 x")
	r.want(t, 2)
	rows := readLog(t, log)
	slices.SortFunc(rows, func(a, b logRow) int { return a.seq - b.seq })
	if len(rows) != 4 {
		t.Fatalf("%d rows", len(rows))
	}
	want := []logRow{
		{1, 0, 0, `sh -c '[ "$0" = hang ] && exec sleep 30; exit $0' 0`},
		{2, 3, 0, `sh -c '[ "$0" = hang ] && exec sleep 30; exit $0' 3`},
		{3, -1, int(syscall.SIGTERM), `sh -c '[ "$0" = hang ] && exec sleep 30; exit $0' hang`},
		{4, 0, 0, `sh -c '[ "$0" = hang ] && exec sleep 30; exit $0' '0 x'`}, // sh runs exit 0 x
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
}

// --resume skips the jobs the log lists; --resume-failed reruns the ones
// that failed, and runs those it does not list.
func TestMapResume(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	ran := filepath.Join(dir, "ran")
	env := append(os.Environ(), "RAN="+ran)
	script := `echo "$0" >>"$RAN"; [ "$0" != c ]`
	crafted := "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n" +
		"1\t:\t1700000000.000\t0.010\t0\t2\t0\t0\tx a\n" +
		"3\t:\t1700000000.000\t0.010\t0\t0\t1\t0\tx c\n" +
		"4\t:\t1700000000.000\t0.010\t0\t0\t-1\t9\tx d\n"
	inputs := []string{":::", "a", "b", "c", "d", "e"}
	ranNow := func() []string {
		data, _ := os.ReadFile(ran)
		os.Remove(ran)
		return sorted(strings.Fields(string(data)))
	}

	os.WriteFile(log, []byte(crafted), 0o644)
	r := runMapEnv(t, env, "", append([]string{"--resume", "--joblog", log, "sh", "-c", script}, inputs...)...)
	r.want(t, 0)
	if got := ranNow(); !slices.Equal(got, []string{"b", "e"}) {
		t.Fatalf("--resume ran %q, want b e", got)
	}
	rows := readLog(t, log)
	if len(rows) != 5 {
		t.Fatalf("--resume must append to the log: %d rows", len(rows))
	}

	os.WriteFile(log, []byte(crafted), 0o644)
	r = runMapEnv(t, env, "", append([]string{"--resume-failed", "--joblog", log, "sh", "-c", script}, inputs...)...)
	r.want(t, 1) // c fails again
	if got := ranNow(); !slices.Equal(got, []string{"b", "c", "d", "e"}) {
		t.Fatalf("--resume-failed ran %q, want b c d e", got)
	}
	// Now everything but c succeeded: resuming failed runs only c.
	r = runMapEnv(t, env, "", append([]string{"--resume-failed", "--joblog", log, "sh", "-c", script}, inputs...)...)
	r.want(t, 1)
	if got := ranNow(); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("second --resume-failed ran %q, want c", got)
	}
	r = runMap(t, "", "--resume", "true", ":::", "a")
	r.want(t, 2)
}

// A run killed part-way resumes where it stopped: no job listed as done
// runs again, and every input runs.
func TestMapResumeAfterKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	ran := filepath.Join(dir, "ran")
	var inputs []string
	for i := range 30 {
		inputs = append(inputs, strconv.Itoa(i))
	}
	args := append([]string{"-j2", "--joblog", log, "sh", "-c", `echo "$0" >>"$RAN"; sleep 0.05`, ":::"}, inputs...)
	cmd := mapCmd(t, args...)
	cmd.Env = append(os.Environ(), "RAN="+ran)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		data, _ := os.ReadFile(log)
		if bytes.Count(data, []byte("\n")) >= 8 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	logged := readLog(t, log)
	if len(logged) >= 30 {
		t.Skip("the run finished before it was killed")
	}
	done := map[string]bool{}
	for _, row := range logged {
		done[inputs[row.seq-1]] = true
	}
	os.Remove(ran)
	cmd = mapCmd(t, append([]string{"--resume"}, args...)...)
	cmd.Env = append(os.Environ(), "RAN="+ran)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	data, _ := os.ReadFile(ran)
	second := strings.Fields(string(data))
	for _, in := range second {
		if done[in] {
			t.Fatalf("job %s ran again though the log lists it", in)
		}
	}
	if len(second)+len(done) != 30 {
		t.Fatalf("%d done before the kill, %d after: want 30", len(done), len(second))
	}
	rows := readLog(t, log)
	seen := map[int]bool{}
	for _, row := range rows {
		if seen[row.seq] {
			t.Fatalf("job %d logged twice", row.seq)
		}
		seen[row.seq] = true
	}
	if len(seen) != 30 {
		t.Fatalf("%d jobs logged", len(seen))
	}
}

func TestMapLinesMode(t *testing.T) {
	t.Parallel()
	var in strings.Builder
	var want strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&in, "line %d\n", i)
		fmt.Fprintf(&want, "LINE %d\n", i)
	}
	for _, filter := range [][]string{{"awk", "{ print toupper($0) }"}, {"tr", "a-z", "A-Z"}} {
		r := runMap(t, in.String(), append([]string{"-k", "-j3", "--mode", "lines", "--"}, filter...)...)
		r.want(t, 0)
		if r.out != want.String() {
			t.Fatalf("%s: output differs (%d bytes, want %d)", filter[0], len(r.out), want.Len())
		}
	}
	// Without -k every line is answered once, in some order.
	r := runMap(t, in.String(), "-j3", "--mode", "lines", "tr", "a-z", "A-Z")
	r.want(t, 0)
	got := sorted(r.lines())
	wantLines := sorted(strings.Split(strings.TrimSuffix(want.String(), "\n"), "\n"))
	if !slices.Equal(got, wantLines) {
		t.Fatalf("unordered lines mode: %d lines", len(got))
	}
	// Each line's answer is that line's, also with many filters.
	r = runMap(t, "", "-k", "-j4", "--mode", "lines", "sed", "s/^/got:/", ":::", "a", "b", "c", "d", "e")
	r.want(t, 0)
	if r.out != "got:a\ngot:b\ngot:c\ngot:d\ngot:e\n" {
		t.Fatalf("%q", r.out)
	}
	// Empty input lines get their own answers.
	r = runMap(t, "a\n\n\nb\n", "-k", "--mode", "lines", "sed", "s/^/>/")
	r.want(t, 0)
	if r.out != ">a\n>\n>\n>b\n" {
		t.Fatalf("%q", r.out)
	}
}

// A 16 MiB line goes through a lines filter and comes back whole.
func TestMapLinesHugeLine(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("0123456789abcdef", 1<<20) // 16 MiB
	r := runMap(t, "small\n"+big+"\nlast\n", "-k", "-j2", "--mode", "lines", "cat")
	r.want(t, 0)
	if r.out != "small\n"+big+"\nlast\n" {
		t.Fatalf("output of %d bytes, want %d", len(r.out), len(big)+12)
	}
}

// Invalid UTF-8 passes byte for byte, in exec and lines mode.
func TestMapInvalidUTF8(t *testing.T) {
	t.Parallel()
	in := "\xff\xfe\n\xc3\x28 \x80abc\n\xed\xa0\x80\n"
	r := runMap(t, in, "-k", "printf", `%s\n`)
	r.want(t, 0)
	if r.out != in {
		t.Fatalf("exec: %q", r.out)
	}
	r = runMap(t, in, "-k", "--mode", "lines", "cat")
	r.want(t, 0)
	if r.out != in {
		t.Fatalf("lines: %q", r.out)
	}
	r = runMap(t, in, "-k", "--tag", "--mode", "lines", "cat")
	r.want(t, 0)
	if r.out != "\xff\xfe\t\xff\xfe\n\xc3\x28 \x80abc\t\xc3\x28 \x80abc\n\xed\xa0\x80\t\xed\xa0\x80\n" {
		t.Fatalf("lines --tag: %q", r.out)
	}
}

// A filter that exits part-way: the line it died on fails with a clear
// message (or is retried with --retries), the rest go to a new filter,
// and nothing is dropped.
func TestMapLinesFilterExitsEarly(t *testing.T) {
	t.Parallel()
	// Each filter answers three lines and exits on the fourth.
	filter := `n=0; while IFS= read -r l; do n=$((n+1)); [ $n -gt 3 ] && exit 7; echo "ok $l"; done`
	var in strings.Builder
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&in, "%d\n", i)
	}
	r := runMap(t, in.String(), "-k", "-j1", "--mode", "lines", "sh", "-c", filter)
	r.want(t, 2)
	if got := r.lines(); !slices.Equal(got, []string{"ok 1", "ok 2", "ok 3", "ok 5", "ok 6", "ok 7", "ok 9", "ok 10"}) {
		t.Fatalf("stdout %q", got)
	}
	for _, line := range []string{"line 4 failed", "line 8 failed"} {
		if !strings.Contains(r.err, line) || !strings.Contains(r.err, "exited with status 7") {
			t.Fatalf("stderr lacks %q:\n%s", line, r.err)
		}
	}
	// With a retry, the line a filter died on goes to the next filter.
	r = runMap(t, in.String(), "-k", "-j1", "--retries", "1", "--mode", "lines", "sh", "-c", filter)
	r.want(t, 0)
	if len(r.lines()) != 10 || r.lines()[3] != "ok 4" || r.lines()[9] != "ok 10" {
		t.Fatalf("stdout %q", r.lines())
	}
	// A joblog lists every line, the failed ones as failed.
	log := filepath.Join(t.TempDir(), "log")
	r = runMap(t, in.String(), "-k", "-j2", "--joblog", log, "--mode", "lines", "sh", "-c", filter)
	if r.code == 0 {
		t.Fatalf("exit 0 though lines failed:\n%s", r.err)
	}
	rows := readLog(t, log)
	failed := 0
	seen := map[int]bool{}
	for _, row := range rows {
		seen[row.seq] = true
		if row.exit != 0 {
			failed++
		}
	}
	if len(seen) != 10 || len(rows) != 10 || failed != r.code || len(r.lines()) != 10-failed {
		t.Fatalf("%d rows, %d distinct, %d failed; exit %d; %d answers", len(rows), len(seen), failed, r.code, len(r.lines()))
	}
}

// A command that never works as a filter: each line it dies on fails with
// a message, and after a few filters in a row that never answer, the run
// stops, naming the command, rather than starting filters forever.
func TestMapLinesBarrenFilter(t *testing.T) {
	t.Parallel()
	r := runMap(t, "a\nb\nc\n", "-j1", "--mode", "lines", "false")
	r.want(t, 3)
	if strings.Count(r.err, "exited with status 1 before answering") != 3 || r.out != "" {
		t.Fatalf("stdout %q stderr %q", r.out, r.err)
	}
	var in strings.Builder
	for i := range 50 {
		fmt.Fprintf(&in, "%d\n", i)
	}
	r = runMap(t, in.String(), "-j2", "--mode", "lines", "false")
	r.want(t, 255)
	if !strings.Contains(r.err, "false keeps exiting without answering") {
		t.Fatalf("stderr %q", r.err)
	}
}

// A filter printing two lines per input is reported, not taken silently.
func TestMapLinesTwoAnswersPerLine(t *testing.T) {
	t.Parallel()
	r := runMap(t, "a\nb\nc\n", "-j1", "--mode", "lines", "awk", `{ print; print "again " $0 }`)
	if r.code == 0 {
		t.Fatalf("exit 0; stdout %q stderr %q", r.out, r.err)
	}
	if !strings.Contains(r.err, "more lines than it reads") {
		t.Fatalf("stderr %q", r.err)
	}
}

// pipeMap runs corral map with stdin and stdout as pipes the test drives
// line by line.
type pipeMap struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *syncBuffer
}

func startPipeMap(t *testing.T, env []string, args ...string) *pipeMap {
	t.Helper()
	cmd := mapCmd(t, args...)
	cmd.Env = env
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeMap{cmd: cmd, in: in, out: bufio.NewReader(out), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return p
}

// readLine reads one line, failing after d.
func (p *pipeMap) readLine(t *testing.T, d time.Duration) (string, bool) {
	t.Helper()
	ch := make(chan string, 1)
	go func() {
		l, err := p.out.ReadString('\n')
		if err != nil {
			l = "ERR " + err.Error()
		}
		ch <- l
	}()
	select {
	case l := <-ch:
		return l, true
	case <-time.After(d):
		return "", false
	}
}

// With --pty, a filter that block-buffers on a pipe answers each line
// while its input is still open.
func TestMapLinesPTY(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(py311); err != nil {
		t.Skip("no", py311)
	}
	env := append(envWithout("PYTHONUNBUFFERED"), "PYTHONUNBUFFERED=") // set, empty: python buffers
	p := startPipeMap(t, env, "-j1", "--mode", "lines", "--pty", py311, "-c",
		"import sys\nfor l in sys.stdin: print(l.strip().upper())")
	for _, w := range []string{"one", "two", "three"} {
		io.WriteString(p.in, w+"\n")
		l, ok := p.readLine(t, 20*time.Second)
		if !ok {
			t.Fatalf("no answer to %q under --pty while the input stays open; stderr %s", w, p.stderr.String())
		}
		if l != strings.ToUpper(w)+"\n" {
			t.Fatalf("answer %q, want %q (\\n must not become \\r\\n)", l, strings.ToUpper(w)+"\n")
		}
	}
	p.in.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr %s", err, p.stderr.String())
	}
}

// Without --pty the same filter holds its answer back; with --timeout the
// run says why and goes on, rather than hanging.
func TestMapLinesBufferingHint(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(py311); err != nil {
		t.Skip("no", py311)
	}
	env := append(envWithout("PYTHONUNBUFFERED"), "PYTHONUNBUFFERED=")
	p := startPipeMap(t, env, "-j1", "--mode", "lines", "--timeout", "1", "--grace", "200ms", py311, "-c",
		"import sys\nfor l in sys.stdin: print(l.strip().upper())")
	io.WriteString(p.in, "one\n")
	deadline := time.Now().Add(30 * time.Second)
	// The hint and the failed line's message may come in either order.
	for s := p.stderr.String(); !strings.Contains(s, "--pty") || !strings.Contains(s, "one"); s = p.stderr.String() {
		if time.Now().After(deadline) {
			t.Fatalf("no hint about buffering; stderr %q", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := p.stderr.String(); !strings.Contains(s, "one") || !strings.Contains(s, "buffer") {
		t.Fatalf("stderr %q should name the line and the cause", s)
	}
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1 (one failed line)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("corral map hung after its input closed")
	}
	// PYTHONUNBUFFERED=1, which corral sets by default, needs no pty.
	r := runMapEnv(t, envWithout("PYTHONUNBUFFERED"), "a\nb\n", "-k", "--mode", "lines", "--timeout", "20", py311, "-c",
		"import sys, os\nfor l in sys.stdin: print(l.strip().upper(), os.environ.get('PYTHONUNBUFFERED'))")
	r.want(t, 0)
	if r.out != "A 1\nB 1\n" {
		t.Fatalf("%q", r.out)
	}
}

func TestMapRPC(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	one := append(os.Environ(), mapWorkerEnv+"=upper")
	two := append(os.Environ(), mapWorkerEnv+"=two")
	var in strings.Builder
	var want strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&in, "item %d ünï \"q\" \\\n", i)
		fmt.Fprintf(&want, "ITEM %d ÜNÏ \"Q\" \\\n", i)
	}
	r := runMapEnv(t, one, in.String(), "-k", "-j3", "--mode", "rpc", exe, "-test.run=^$")
	r.want(t, 0)
	if r.out != want.String() {
		t.Fatalf("rpc output differs: %.300q", r.out)
	}
	r = runMapEnv(t, two, "a\nB\n", "-k", "--mode", "rpc", exe, "-test.run=^$")
	r.want(t, 2)
	if !strings.Contains(r.err, "upper") || !strings.Contains(r.err, "lower") || !strings.Contains(r.err, "--fn") {
		t.Fatalf("several functions: stderr %q", r.err)
	}
	r = runMapEnv(t, two, "a\nB\n", "-k", "--mode", "rpc", "--fn", "lower", exe, "-test.run=^$")
	r.want(t, 0)
	if r.out != "a\nb\n" {
		t.Fatalf("--fn lower: %q", r.out)
	}
	r = runMapEnv(t, two, "a\n", "--mode", "rpc", "--fn", "nope", exe, "-test.run=^$")
	r.want(t, 2)
	if !strings.Contains(r.err, "nope") {
		t.Fatalf("unknown --fn: %q", r.err)
	}
	// A failing call fails its job only.
	r = runMapEnv(t, one, "a\nboom\nc\n", "-k", "--mode", "rpc", "--tag", exe, "-test.run=^$")
	r.want(t, 1)
	if r.out != "a\tA\nc\tC\n" || !strings.Contains(r.err, "boom is not allowed") {
		t.Fatalf("stdout %q stderr %q", r.out, r.err)
	}
}

// The Go example worker serves double over integers: the input line is a
// string, so each call fails with the worker's type error, per job.
func TestMapRPCDoublerGo(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "doubler-go")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/doubler-go").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	r := runMap(t, "21\n", "--mode", "rpc", bin)
	r.want(t, 1)
	if !strings.Contains(r.err, "job 1 failed") || !strings.Contains(r.err, "double") {
		t.Fatalf("stderr %q", r.err)
	}
	// With --json the line is the JSON number the function takes.
	r = runMap(t, "21\n-4\n0\n", "-k", "-j2", "--mode", "rpc", "--json", bin)
	r.want(t, 0)
	if r.out != "42\n-8\n0\n" {
		t.Fatalf("--json: %q", r.out)
	}
}

// Jobs and filters do not outlive corral map: SIGTERM stops them and
// exits 130; SIGKILL takes them down too (they die with their parent).
func TestMapLeavesNoProcesses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		args []string
	}{
		{"exec TERM", syscall.SIGTERM, []string{"-j3", "sh", "-c", `echo $$ >"$D/$0"; exec sleep 60`, ":::", "a", "b", "c"}},
		{"exec KILL", syscall.SIGKILL, []string{"-j3", "sh", "-c", `echo $$ >"$D/$0"; exec sleep 60`, ":::", "a", "b", "c"}},
		{"lines TERM", syscall.SIGTERM, []string{"-j3", "--mode", "lines", "sh", "-c", `echo $$ >"$D/$CORRAL_SLOT"; exec sleep 60`, "::::", "-"}},
		{"lines KILL", syscall.SIGKILL, []string{"-j3", "--mode", "lines", "sh", "-c", `echo $$ >"$D/$CORRAL_SLOT"; exec sleep 60`, "::::", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := mapCmd(t, tc.args...)
			cmd.Env = append(os.Environ(), "D="+dir)
			// Enough lines for several batches, so every slot gets a filter.
			cmd.Stdin = strings.NewReader(strings.Repeat("line\n", 20000))
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var pids []int
			// Exec runs all three at once; lines mode starts filters as
			// batches come, so one or more.
			want := 3
			if tc.args[1] == "--mode" {
				want = 1
			}
			for deadline := time.Now().Add(30 * time.Second); len(pids) < want; time.Sleep(20 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("jobs did not start: %s", stderr.String())
				}
				pids = pids[:0]
				ents, _ := os.ReadDir(dir)
				for _, e := range ents {
					data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
					if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
						pids = append(pids, pid)
					}
				}
			}
			cmd.Process.Signal(tc.sig)
			signalled := time.Now()
			err := cmd.Wait()
			if el := time.Since(signalled); el > 20*time.Second {
				t.Fatalf("exit took %s after %s: the jobs (sleep 60) were waited for, not stopped", el, tc.sig)
			}
			var ee *exec.ExitError
			if tc.sig == syscall.SIGTERM && (!errors.As(err, &ee) || ee.ExitCode() != 130) {
				t.Fatalf("after SIGTERM: %v, want exit 130; stderr %s", err, stderr.String())
			}
			for _, pid := range pids {
				for deadline := time.Now().Add(15 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
					if zombie(pid) {
						break
					}
					if time.Now().After(deadline) {
						syscall.Kill(pid, syscall.SIGKILL)
						t.Fatalf("job %d outlived corral map (%s)", pid, tc.sig)
					}
				}
			}
		})
	}
}

// zombie reports whether pid has exited and waits to be reaped.
func zombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// Lines mode cannot send an input with a newline in it as one line: it
// says so and counts it failed.
func TestMapLinesNullInputWithNewline(t *testing.T) {
	t.Parallel()
	r := runMap(t, "a\x00b\nc\x00d\x00", "-k", "-0", "--mode", "lines", "cat")
	r.want(t, 1)
	if r.out != "a\nd\n" || !strings.Contains(r.err, "input 2 has a newline") {
		t.Fatalf("stdout %q stderr %q", r.out, r.err)
	}
}

// --bar draws on a terminal, and stays silent when stderr is not one.
func TestMapBar(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skip("no pty:", err)
	}
	defer ptmx.Close()
	cmd := mapCmd(t, "-j2", "--bar", "sh", "-c", "sleep 0.1", ":::", "1", "2", "3", "4", "5", "6")
	cmd.Stderr = tty
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var screen bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&screen, ptmx); close(copied) }()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-copied:
	case <-time.After(10 * time.Second):
		t.Fatal("pty not closed")
	}
	s := screen.String()
	if !strings.Contains(s, "6/6") || !strings.Contains(s, "corral map") {
		t.Fatalf("bar on the terminal: %q", s)
	}
	if out.Len() != 0 {
		t.Fatalf("stdout %q", out.String())
	}
	r := runMap(t, "", "-j2", "--bar", "true", ":::", "1", "2", "3")
	r.want(t, 0)
	if r.err != "" || r.out != "" {
		t.Fatalf("--bar with stderr not a terminal printed %q / %q", r.err, r.out)
	}
}

func TestMapBadInput(t *testing.T) {
	t.Parallel()
	t.Run("missing CMD", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{{}, {"--"}, {"-j2"}, {"--", ":::", "a"}} {
			r := runMap(t, "a\n", args...)
			r.want(t, 2)
			if !strings.Contains(r.err, "no command") {
				t.Fatalf("%q: %q", args, r.err)
			}
		}
	})
	t.Run("CMD not found", func(t *testing.T) {
		t.Parallel()
		r := runMap(t, "a\nb\nc\nd\n", "corral-no-such-command", "{}")
		r.want(t, 127)
		if strings.Count(r.err, "corral-no-such-command") != 1 {
			t.Fatalf("want the command named once: %q", r.err)
		}
		for _, mode := range []string{"lines", "rpc"} {
			r := runMap(t, "a\n", "--mode", mode, "corral-no-such-command")
			r.want(t, 127)
		}
	})
	t.Run("CMD not executable", func(t *testing.T) {
		t.Parallel()
		f := filepath.Join(t.TempDir(), "script")
		os.WriteFile(f, []byte("#!/bin/sh\necho hi\n"), 0o644)
		r := runMap(t, "a\nb\n", f)
		if r.code == 0 || strings.Count(r.err, f) > 1 {
			t.Fatalf("exit %d stderr %q", r.code, r.err)
		}
	})
	t.Run("empty input", func(t *testing.T) {
		t.Parallel()
		for _, mode := range []string{"exec", "lines"} {
			r := runMap(t, "", "--mode", mode, "echo", "x")
			r.want(t, 0)
			if r.out != "" || r.err != "" {
				t.Fatalf("%s: %q %q", mode, r.out, r.err)
			}
		}
		r := runMap(t, "", "echo", "x", ":::")
		r.want(t, 0)
		if r.out != "" {
			t.Fatalf("::: with nothing: %q", r.out)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		t.Parallel()
		for _, f := range []string{"--nope", "-x", "--mode=batch"} {
			r := runMap(t, "a\n", f, "echo")
			r.want(t, 2)
			if r.out != "" {
				t.Fatalf("%s: stdout %q", f, r.out)
			}
		}
	})
	t.Run("unwritable joblog", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		for _, log := range []string{filepath.Join(dir, "missing", "log"), dir} {
			r := runMapEnv(t, append(os.Environ(), "D="+dir), "", "--joblog", log, "sh", "-c", `touch "$D/ran-$0"`, ":::", "a", "b")
			r.want(t, 2)
			if !strings.Contains(r.err, "joblog") {
				t.Fatalf("stderr %q", r.err)
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "ran-*")); len(m) != 0 {
				t.Fatalf("jobs ran before the joblog error: %q", m)
			}
		}
	})
	t.Run("pty outside lines mode", func(t *testing.T) {
		t.Parallel()
		runMap(t, "", "--pty", "echo", ":::", "a").want(t, 2)
	})
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		r := runMap(t, "", "--help")
		r.want(t, 0)
		if !strings.Contains(r.out, "101") || !strings.Contains(r.out, "{/.}") {
			t.Fatalf("help %q", r.out)
		}
	})
}

// Millions of lines stream through lines mode in bounded memory.
func TestMapStreamsBoundedMemory(t *testing.T) {
	t.Parallel()
	const n = 3000000
	gen := exec.Command("seq", strconv.Itoa(n))
	genOut, err := gen.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := mapCmd(t, "-k", "-j2", "--mode", "lines", "cat")
	cmd.Stdin = genOut
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := gen.Start(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var peak int64
	var mu sync.Mutex
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if kb := vmHWM(cmd.Process.Pid); kb > 0 {
				mu.Lock()
				peak = max(peak, kb)
				mu.Unlock()
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	// Check the output as it streams: 1, 2, … n, in order.
	sc := bufio.NewScanner(out)
	next := 1
	for sc.Scan() {
		if sc.Text() != strconv.Itoa(next) {
			t.Fatalf("line %d is %q", next, sc.Text())
		}
		next++
		if next == n-1000 {
			// Near the end: the high-water mark covers the whole run.
			if kb := vmHWM(cmd.Process.Pid); kb > 0 {
				mu.Lock()
				peak = max(peak, kb)
				mu.Unlock()
			}
		}
	}
	close(stopSampling)
	<-sampled
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	gen.Wait()
	if next != n+1 {
		t.Fatalf("%d lines out, want %d", next-1, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if peak == 0 {
		t.Fatal("could not read VmHWM")
	}
	t.Logf("peak RSS %d KiB for %d lines", peak, n)
	if peak > 100<<10 {
		t.Fatalf("peak RSS %d MiB streaming %d lines; want under 100 MiB", peak>>10, n)
	}
}

// vmHWM is a process's peak resident set in KiB, 0 when unknown.
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

// --halt now in lines mode prints nothing past the line that halted the
// run, though later lines of its batch were answered.
func TestMapLinesHaltNow(t *testing.T) {
	t.Parallel()
	r := runMap(t, "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "--mode", "lines", "--halt", "now,fail=1", "sh", "-c",
		`while read l; do [ "$l" = 5 ] && exit 1; echo "$l"; done`)
	r.want(t, 1)
	if r.out != "1\n2\n3\n4\n" {
		t.Fatalf("stdout %q, want the lines before the failure only", r.out)
	}
}
