// Command quickstart runs corral end to end: it starts a supervisor as a
// sidecar, creates a pool of doubler workers and maps them over five
// numbers.
//
//	make demo                                     # Go workers
//	go run ./examples/quickstart -worker examples/doubler.py
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corral "github.com/corralhq/corral/clients/go"
	"github.com/corralhq/corral/protocol"
)

func main() {
	worker := flag.String("worker", "bin/doubler-go", "worker `command` serving double (try examples/doubler.sh or examples/doubler.py)")
	workers := flag.Int("n", 2, "number of workers")
	flag.Parse()
	if err := run(*worker, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(worker string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd, err := filepath.Abs(worker)
	if err != nil {
		return err
	}
	c, err := corral.Start(ctx, corral.StartOptions{ExtraArgs: []string{"--log-level", "warn"}})
	if err != nil {
		return err
	}
	defer c.Close()
	pool, err := c.CreatePool(ctx, protocol.PoolSpec{Name: "doubler", Command: cmd, Workers: n})
	if err != nil {
		return err
	}
	out, err := corral.Map[int](ctx, pool, "double", []int{5, 10, 15, 20, 25})
	if err != nil {
		return err
	}
	fmt.Println(out)
	return nil
}
