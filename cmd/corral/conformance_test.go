package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/corralhq/corral/spec/conformance"
)

// doublers are the workers serving double that the supervisor cases give
// their pools, as the values of DOUBLER (the command) and DOUBLER_ARGS.
func doublers(t *testing.T) map[string]map[string]any {
	t.Helper()
	sh, err := filepath.Abs("../../examples/doubler.sh")
	if err != nil {
		t.Fatal(err)
	}
	py, err := filepath.Abs("../../examples/doubler.py")
	if err != nil {
		t.Fatal(err)
	}
	ds := map[string]map[string]any{
		"doubler.sh": {"DOUBLER": sh, "DOUBLER_ARGS": []string{}},
	}
	// The python3 on PATH may be a wrapper script (pyenv) that costs more
	// than the worker's own start-up: run the interpreter it resolves to.
	if out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		ds["doubler.py"] = map[string]any{"DOUBLER": strings.TrimSpace(string(out)), "DOUBLER_ARGS": []string{py}}
	} else {
		t.Logf("no python3 (%v): skipping doubler.py", err)
	}
	goDoubler := filepath.Join(t.TempDir(), "doubler-go")
	if out, err := exec.Command("go", "build", "-o", goDoubler, "../../examples/doubler-go").CombinedOutput(); err != nil {
		t.Fatalf("build doubler-go: %v\n%s", err, out)
	}
	ds["doubler-go"] = map[string]any{"DOUBLER": goDoubler, "DOUBLER_ARGS": []string{}}
	return ds
}

// Every supervisor case passes against corral serve --stdio, with each
// example doubler as the pools' worker.
func TestSupervisorConformance(t *testing.T) {
	cases, err := conformance.SupervisorCases()
	if err != nil {
		t.Fatal(err)
	}
	cmd := conformance.Command{
		Path:       corralBin,
		Args:       []string{"serve", "--stdio", "--log-level", "warn"},
		Supervisor: true,
	}
	for name, vars := range doublers(t) {
		t.Run(name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.Name, func(t *testing.T) {
					t.Parallel()
					// A step's deadline only matters when a case fails; a
					// loaded machine (-race, many cases at once) must not
					// make a passing case fail.
					opts := conformance.Options{Timeout: 20 * time.Second, Vars: vars}
					if r := conformance.RunCommand(context.Background(), cmd, c, opts); !r.Pass {
						t.Error(r)
					}
				})
			}
		})
	}
}
