#!/usr/bin/env bash
# contend.sh N FILE: N times, read a number from FILE and write it back plus
# one under corral_with_lock, then read the value "count" and set it back
# plus one under corral_lock_acquire. Each read-modify-write leaves the
# other process time to interleave, so without the lock updates are lost.
set -euo pipefail
. "${BASH_SOURCE[0]%/*}/lib.sh"
n=$1 file=$2

bump_file() {
	local v
	v=$(<"$file")
	sleep 0.005
	printf '%s\n' $((v + 1)) >"$file"
}

for ((i = 0; i < n; i++)); do
	corral_with_lock counter bump_file
	corral_lock_acquire counter
	v=$(corral_value_get count)
	corral_value_set count $((v + 1)) >/dev/null
	corral_lock_release counter
done
echo done
