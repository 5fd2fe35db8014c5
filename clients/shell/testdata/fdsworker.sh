#!/usr/bin/env bash
# corral_serve with the protocol on fds 3 and 4: stdout is the function's
# own, and a stray echo from the script itself does not disturb the protocol.
set -euo pipefail
. "${BASH_SOURCE[0]%/*}/../corral.sh"
echo "printed by the script, not a message"
double() { echo $(($1 * 2)); }
corral_serve double
