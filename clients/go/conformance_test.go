package corral

import (
	"context"
	"testing"

	"github.com/corralhq/corral/spec/conformance"
)

// The shared conformance cases, which every shim runs, pass against the Go
// shim: doubler-go (every set) and the helper worker (the set for any
// worker; it serves more than double), on stdio and on fds 3/4.
func TestConformance(t *testing.T) {
	needDoubler(t)
	workers := []struct {
		name string
		cmd  conformance.Command
		sets []string
	}{
		{"doubler-go", conformance.Command{Path: doublerBin}, []string{"worker", "doubler"}},
		{"helper", conformance.Command{Path: testBin(t), Env: []string{testWorkerEnv + "=1"}}, []string{"worker"}},
	}
	for _, w := range workers {
		for _, fds := range []bool{false, true} {
			for _, set := range w.sets {
				cases, err := conformance.Cases(set)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range cases {
					cmd := w.cmd
					cmd.FDs = fds
					name := w.name + "/" + set + "/" + c.Name
					if fds {
						name = w.name + "/fds/" + set + "/" + c.Name
					}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						if r := conformance.RunCommand(context.Background(), cmd, c, conformance.Options{}); !r.Pass {
							t.Fatal(r)
						}
					})
				}
			}
		}
	}
}
