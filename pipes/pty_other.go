//go:build !linux

package pipes

import (
	"errors"
	"os"
)

func openRawPTY() (master, slave *os.File, err error) {
	return nil, nil, errors.New("pty: only supported on Linux")
}
