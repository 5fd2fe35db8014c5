package supervisor

import (
	"fmt"
	"os/exec"
	"strconv"

	"github.com/corralhq/corral/internal/testworker"
	"github.com/corralhq/corral/protocol"
)

// testWorkerSpec is a pool of the test binary acting as a worker.
func testWorkerSpec(name string, workers int, mode string) protocol.PoolSpec {
	return testworker.Spec(name, workers, mode)
}

// pidAlive is for tests only: reports whether pid still runs.
func pidAlive(pid int) bool {
	out, err := exec.Command("ps", "-o", "stat=", "-p", strconv.Itoa(pid)).Output()
	return err == nil && len(out) > 0 && out[0] != 'Z'
}

func fmtSscan(s string, v any) (int, error) { return fmt.Sscan(s, v) }
