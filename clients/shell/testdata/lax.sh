#!/usr/bin/env bash
# corral_serve from a script without set -e: a failing command inside a
# task does not end it, as in any bash function.
. "${BASH_SOURCE[0]%/*}/../corral.sh"
strict() {
	false
	echo "reached"
}
corral_serve strict
