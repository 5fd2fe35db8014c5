#!/usr/bin/env bash
# Held locks and semaphores, corral_with_lock and corral_with_semaphore,
# under set -euo pipefail.
# locks.sh fifo: the same, with the named-pipe holders corral.sh uses where
# /dev/fd cannot reopen a pipe.
set -euo pipefail
. "${BASH_SOURCE[0]%/*}/lib.sh"
[[ ${1-} != fifo ]] || export _CORRAL_HOLD_FIFO=1
# Whatever the caller's IFS and globbing, corral.sh does its own splitting.
IFS=,
shopt -s nullglob failglob
fds_before=(/proc/$$/fd/*) # Linux; checked at the end

# A lock stays held between calls, until released.
corral_lock_acquire db
corral_lock_locked db || fail "lock not held after corral_lock_acquire"
status 1 corral_lock_acquire db --timeout 0.1
status 1 corral_lock_acquire db --no-block
# Another shell cannot have it either.
status 1 bash -c '. "$1"; corral_lock_acquire db --timeout 0.1' bash "$SHIM"
corral_lock_release db
status 1 corral_lock_locked db
# Releasing a lock this shell does not hold is the supervisor's not_owner.
status 3 corral_lock_release db
status 2 corral_lock_acquire
status 2 corral_lock_acquire db --timeout
status 2 corral_lock_acquire db extra

# A lock held by a shell that dies, even by SIGKILL, is released.
bash -c '. "$1"; corral_lock_acquire db; echo held; kill -9 $$' bash "$SHIM" >"$TMPDIR/held" 2>/dev/null || :
eq "$(<"$TMPDIR/held")" held "the killed shell got the lock"
corral_lock_acquire db --timeout 5 || fail "the lock of a killed shell was not released"
corral_lock_release db

# Two locks at once, released in either order; nothing left behind.
corral_lock_acquire a
corral_lock_acquire b
corral_lock_release a
status 1 corral_lock_locked a
corral_lock_locked b || fail "b released with a"
corral_lock_release b
status 1 corral_lock_locked b

# corral_with_lock runs a function, a builtin or a command, in this shell,
# and returns its status.
bump() { bumped=$((${bumped:-0} + 1)); corral_lock_locked db; }
corral_with_lock db bump
corral_with_lock db --timeout 5 -- bump
eq "$bumped" 2 "corral_with_lock runs a function in this shell"
eq "$(corral_with_lock db echo hi)" hi "corral_with_lock echo"
eq "$(corral_with_lock db sh -c 'echo "$1"' sh 'a b')" 'a b' "corral_with_lock of a command"
status 7 corral_with_lock db sh -c 'exit 7'
status 1 corral_with_lock db false
status 1 corral_lock_locked db
status 2 corral_with_lock db
status 2 corral_with_lock
corral_lock_acquire db
status 1 corral_with_lock db --timeout 0.1 echo never
status 1 corral_with_lock db --no-block echo never
corral_lock_release db
eq "$(corral_with_lock db --no-block -- echo now)" now "corral_with_lock --no-block of a free lock"
# Under set -e a failing CMD ends the shell, as any command would, and the
# lock goes with it.
st=0
bash -c 'set -e; . "$1"; corral_with_lock db false; echo "not reached"' bash "$SHIM" >"$TMPDIR/after" || st=$?
eq "$st" 1 "status of a shell ended by set -e in corral_with_lock"
eq "$(<"$TMPDIR/after")" "" "set -e in corral_with_lock"
corral_lock_acquire db --timeout 5 || fail "the lock of a shell ended by set -e was not released"
corral_lock_release db

# Semaphores: held permits, any number; release without one held adds one.
corral_object_create semaphore gpu '{"value":2}' >/dev/null
corral_semaphore_acquire gpu
corral_semaphore_acquire gpu --timeout 1
eq "$(corral_semaphore_value gpu)" 0 "semaphore value with both permits held"
status 1 corral_semaphore_acquire gpu --timeout 0.1
corral_semaphore_release gpu
eq "$(corral_semaphore_value gpu)" 1 "semaphore value after a release"
eq "$(corral_with_semaphore gpu corral_semaphore_value gpu)" 0 "corral_with_semaphore holds a permit"
corral_semaphore_release gpu
eq "$(corral_semaphore_value gpu)" 2 "semaphore value after both releases"
corral_semaphore_release gpu
eq "$(corral_semaphore_value gpu)" 3 "release of a permit not held"
status 4 corral_with_semaphore gpu sh -c 'exit 4'

# No holder, no file descriptor left behind.
eq "${#_CORRAL_HELD[@]}" 0 "held table after the releases"
if [[ -d /proc/$$/fd ]]; then
	fds_after=(/proc/$$/fd/*)
	eq "${fds_after[*]}" "${fds_before[*]}" "open file descriptors"
fi
left=$(compgen -G "$TMPDIR/corral-sh.*" || :)
[[ -z $left ]] || fail "left behind: $left"
echo ok
