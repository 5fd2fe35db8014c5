# Sourced by the test scripts: loads corral.sh from wherever the caller runs,
# and adds small assertions. Every failure says what and where, and exits 1.
. "${BASH_SOURCE[0]%/*}/../corral.sh"

fail() {
	local i=1
	while ((i < ${#BASH_SOURCE[@]} - 1)) && [[ ${BASH_SOURCE[i]} == */lib.sh ]]; do
		((i++)) || :
	done
	printf 'FAIL (%s line %s): %s\n' "${BASH_SOURCE[i]##*/}" "${BASH_LINENO[i - 1]}" "$*" >&2
	exit 1
}

# eq GOT WANT WHAT
eq() {
	[[ $1 == "$2" ]] || fail "$3: got [$1], want [$2]"
}

# status WANT CMD ARGS…: CMD's status must be WANT; its stderr is dropped.
status() {
	local want=$1 got=0
	shift
	"$@" 2>/dev/null || got=$?
	[[ $got == "$want" ]] || fail "$*: status $got, want $want"
}
