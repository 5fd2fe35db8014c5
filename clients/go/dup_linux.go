package corral

import "syscall"

// dup2 makes newfd a copy of oldfd (Dup3: some Linux ports lack dup2).
func dup2(oldfd, newfd int) error { return syscall.Dup3(oldfd, newfd, 0) }
