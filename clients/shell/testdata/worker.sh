#!/usr/bin/env bash
# A pool worker serving bash functions with corral_serve, for the Go driver
# in shell_test.go. Under set -euo pipefail, which the tasks keep.
set -euo pipefail
. "${BASH_SOURCE[0]%/*}/../corral.sh"

double() { echo $(($1 * 2)); }
square() { echo $(($1 * $1)); }
# The text back exactly: printf adds the newline corral_serve takes off.
echo_text() { printf '%s\n' "$1"; }
# What each argument looked like as JSON.
args_json() {
	local IFS=,
	printf '[%s]\n' "${CORRAL_ARGS_JSON[*]-}"
}
args_text() {
	local IFS=,
	printf '%s\n' "$*"
}
nargs() { echo $#; }
words() {
	local w
	for w in "$@"; do printf '%s\n' "$w"; done
}
auto() { printf '%s\n' "$1"; }
fail() {
	echo "partial output"
	echo "something went wrong with $1" >&2
	return "$1"
}
# set -e carries into the task: false ends it with status 1.
strict() {
	false
	echo "not reached"
}
# set -u carries too.
unbound() { echo "$2"; }
# Much more stderr than a traceback keeps; the message quotes the last line.
loud() {
	local i
	for ((i = 0; i < 3000; i++)); do printf 'line %04d of noise to fill the log with something\n' "$i" >&2; done
	echo "the real reason" >&2
	return 9
}
dies() { kill -9 $BASHPID; }
# A callback to the supervisor from a task.
record() {
	corral_list_append seen "$(corral_quote "$1")"
	echo "$CORRAL_WORKER_NAME"
}
greet() { echo "${CORRAL_KWARGS[greeting]-hello}, $1 (task $CORRAL_TASK, fn $CORRAL_FN)"; }
reads_stdin() { cat; echo "stdin was empty"; }
sleepy() { sleep "$1"; }
# Not UTF-8: \xff, and \xc3 with nothing after it.
bytes_out() { printf 'a\xffb\xc3\n'; }

corral_serve double square echo_text:string args_json:json args_text:string nargs \
	words:lines auto fail strict unbound dies record greet reads_stdin:string sleepy bytes_out loud
