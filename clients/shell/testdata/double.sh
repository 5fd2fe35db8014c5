#!/usr/bin/env bash
# A worker serving double (x -> 2x) with corral_serve, as the conformance
# cases' doubler set expects.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../corral.sh"
double() { echo $(($1 * 2)); }
corral_serve double
