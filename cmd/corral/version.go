package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/corralhq/corral/protocol"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// VersionCommand prints the version.
type VersionCommand struct {
	Stdout io.Writer
}

// Run prints "corral VERSION (protocol corral/1, goX)".
func (c *VersionCommand) Run(_ context.Context, _ []string) error {
	_, err := fmt.Fprintf(c.Stdout, "corral %s (protocol %s, %s)\n", version, protocol.Version, runtime.Version())
	return err
}
