//go:build !unix

package jsonrpc

import "syscall"

func nonblocking(syscall.RawConn) bool { return false }
