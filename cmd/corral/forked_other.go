//go:build !linux

package main

import (
	"context"
	"errors"
	"io"
)

// ForkedCommand is `corral forked`, Linux only.
type ForkedCommand struct {
	Stderr io.Writer
}

// Run refuses: fork servers need Linux's descriptor passing and process
// groups as corral uses them.
func (c *ForkedCommand) Run(ctx context.Context, args []string) error {
	return &exitError{code: 2, err: errors.New("corral forked runs on Linux only")}
}
