#!/usr/bin/env bash
# doubler.sh: a corral/1 worker in plain bash. It serves one function,
# double(n) = 2n, through task.run and task.map.
#
# It speaks the protocol by hand, with read and printf, to show that anything
# able to read a line and print one can be a corral worker. The message loop
# runs bash builtins only: a fork per message would cost more than the work.
#
# JSON is parsed just as far as corral's messages need. String literals are
# cut out first and replaced by @N (their text kept in STRS[N]), so that
# quotes, commas and brackets inside strings cannot mislead what follows;
# then objects and arrays are split at their own top level, which copes with
# any key order and whitespace. It is not a validating parser, and double
# takes integers only: bash has no floats.
#
# Try it: corral check-worker -- ./examples/doubler.sh

shopt -s extglob
set -f     # the splitting below must never glob
LC_ALL=C   # bytes, not characters: faster, and UTF-8 passes through untouched

if [[ -t 0 && -z ${CORRAL_WORKER_ID-} && -z ${CORRAL_PROTOCOL_FDS-} ]]; then
	printf '%s\n' "${0##*/} is a corral worker that speaks JSON-RPC on stdin/stdout, so rather than running it by hand, put it in a pool for 'corral serve' or test it with 'corral check-worker -- $0'." >&2
	exit 2
fi

in_fd=0 out_fd=1
if [[ ${CORRAL_PROTOCOL_FDS-} == +([0-9]),+([0-9]) ]]; then
	in_fd=${CORRAL_PROTOCOL_FDS%,*} out_fd=${CORRAL_PROTOCOL_FDS#*,}
fi

# Only glob patterns below, never [[ =~ ]]: bash compiles a regex each time
# it matches one, which would cost more than everything else per message.
declare -a STRS ELEMS
declare -A MSG PARAMS
READY=0

# mask LINE: sets SKEL to LINE with every string literal replaced by @N and
# its (still escaped) text stored in STRS[N], and with no white space left
# outside strings, where JSON says it means nothing. Fails on an unclosed
# string or a stray character.
mask() {
	local IFS='"' part cur='' inside=0
	local -a parts skel=()
	# The trailing space keeps a last empty field, which splitting would drop.
	parts=($1' ')
	STRS=()
	for part in "${parts[@]}"; do
		if ((inside)); then
			cur+=$part
			if [[ $part == *\\ && ${part%%*(\\\\)} == *\\ ]]; then # an escaped quote
				cur+='"'
				continue
			fi
			skel+=("@${#STRS[@]}")
			STRS+=("$cur")
			cur='' inside=0
		else
			skel+=("$part")
			inside=1
		fi
	done
	IFS=''
	SKEL="${skel[*]}"
	if [[ $SKEL == *[[:space:]]* ]]; then
		IFS=$' \t\r\n' # splitting drops it far faster than ${SKEL//[[:space:]]/}
		skel=($SKEL)
		IFS=''
		SKEL="${skel[*]}"
	fi
	((inside)) && [[ $SKEL != *[!][{}:,@0-9a-zA-Z.+-]* ]]
}

# split TEXT: sets ELEMS to TEXT's comma-separated elements, splitting only
# at the top level. Fails on unbalanced brackets.
split() {
	local IFS=, f t
	local -i depth=0
	local -a acc=()
	ELEMS=()
	[[ -n $1 ]] || return 0
	if [[ $1 != *[[{]* ]]; then # flat: the common case, and the fast one
		ELEMS=($1)
		return 0
	fi
	for f in $1; do
		acc+=("$f")
		if [[ $f == *[][{}]* ]]; then
			t=${f//[^[\{]/}
			depth+=${#t}
			t=${f//[^\]\}]/}
			depth=depth-${#t}
			((depth >= 0)) || return 1
		fi
		if ((depth == 0)); then
			ELEMS+=("${acc[*]}")
			acc=()
		fi
	done
	((depth == 0))
}

# members OBJ NAME: fills the associative array NAME with OBJ's members,
# key text -> value skeleton. Fails unless OBJ is an object.
members() {
	local -n m=$2
	local e k v
	m=()
	[[ $1 == \{*\} ]] && split "${1:1:${#1}-2}" || return 1
	for e in "${ELEMS[@]}"; do
		k=${e%%:*} v=${e#*:}
		[[ $k == @+([0-9]) && $e == *:* ]] || return 1
		[[ $v == @(@+([0-9])|[-0-9]*([-+.eE0-9])|true|false|null|\{*\}|\[*\]) ]] || return 1
		if [[ -n ${STRS[${k:1}]} ]]; then # bash arrays have no "" key
			m[${STRS[${k:1}]}]=$v
		fi
	done
	return 0
}

# array VALUE: sets ELEMS to the elements of an array value; fails otherwise.
array() {
	[[ $1 == \[*\] ]] && split "${1:1:${#1}-2}"
}

# string VALUE: sets S to the text of a string value; fails for non-strings.
string() {
	[[ $1 == @+([0-9]) ]] || return 1
	S=${STRS[${1:1}]}
}

# integer VALUE: sets N to an integer value small enough to double.
integer() {
	[[ ${1#-} == @(0|[1-9]*([0-9])) && ${#1} -le 18 ]] || return 1
	N=$1
}

send() { printf '%s\n' "$1" >&"$out_fd"; }
result() { send "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"result\":$1}"; }
# error CODE MESSAGE [DATA]; MESSAGE must already be JSON-escaped.
error() { send "{\"jsonrpc\":\"2.0\",\"id\":$ID,\"error\":{\"code\":$1,\"message\":\"$2\"${3:+,\"data\":$3}}}"; }

# double ARG...: sets R to twice the one integer argument, or ETYPE, EMSG
# and ELINE to why not.
double() {
	if (($# != 1)); then
		ETYPE=TypeError EMSG="double() takes exactly one argument ($# given)" ELINE=$LINENO
		return 1
	fi
	if integer "$1"; then
		R=$((N * 2))
		return 0
	fi
	local v=$1 what
	case $v in
	@*) what='a string' ;;
	true | false) what='a boolean' ;;
	\[*) what='an array' ;;
	\{*) what='an object' ;;
	null | *[.eE]*) what=$v ;; # a float: bash has none
	*)
		ETYPE=ValueError EMSG="double() takes integers of at most 18 digits, got $v" ELINE=$LINENO
		return 1
		;;
	esac
	ETYPE=TypeError EMSG="double() takes an integer, got $what" ELINE=$LINENO
	return 1
}

# task_failed [INDEX]: replies with the error double() described.
task_failed() {
	local data="{\"type\":\"$ETYPE\",\"message\":\"$EMSG\",\"traceback\":\"  File \\\"${0##*/}\\\", line $ELINE, in double\\n$ETYPE: $EMSG\"${1:+,\"index\":$1}}"
	error 1010 "$ETYPE: $EMSG" "$data"
}

# task_params PARAMS: the checks task.run and task.map share; sets FN.
task_params() {
	members "$1" PARAMS || {
		error -32602 'invalid params: \"params\" must be an object'
		return 1
	}
	string "${PARAMS[fn]-}" || {
		error -32602 'invalid params: \"fn\" is required and must be a string'
		return 1
	}
	FN=$S
}

hello() {
	members "${MSG[params]-}" PARAMS || {
		error -32602 'invalid params: \"params\" must be an object'
		return
	}
	if ! string "${PARAMS[protocol]-}"; then
		error -32602 'invalid params: \"protocol\" is required and must be a string (this worker speaks \"corral/1\")'
	elif [[ $S != corral/1 ]]; then
		error -32002 "protocol version mismatch: the supervisor speaks \\\"$S\\\", ${0##*/} speaks \\\"corral/1\\\"; run it under a corral release that speaks corral/1, or use a worker built for \\\"$S\\\"" '{"supported":["corral/1"]}'
	else
		READY=1
		result "{\"protocol\":\"corral/1\",\"role\":\"worker\",\"name\":\"${0##*/}\",\"functions\":[\"double\"],\"batch\":true}"
	fi
}

# known: checks that FN is served here.
known() {
	[[ $FN == double ]] && return
	error 1014 "unknown function: \\\"$FN\\\" (this worker serves double)"
	return 1
}

run() {
	task_params "${MSG[params]-}" || return
	local kwargs='{}'
	local -a args=()
	if [[ -v PARAMS[args] ]]; then
		array "${PARAMS[args]}" || {
			error -32602 'invalid params: \"args\" must be an array'
			return
		}
		args=("${ELEMS[@]}")
	fi
	[[ -v PARAMS[kwargs] ]] && kwargs=${PARAMS[kwargs]}
	[[ $kwargs == \{* ]] || {
		error -32602 'invalid params: \"kwargs\" must be an object'
		return
	}
	known || return
	if [[ $kwargs != '{}' ]]; then
		ETYPE=TypeError EMSG='double() takes no keyword arguments' ELINE=$LINENO
		task_failed
	elif double "${args[@]}"; then
		result "$R"
	else
		task_failed
	fi
}

map() {
	task_params "${MSG[params]-}" || return
	local star=${PARAMS[star]-false} item i=0
	local -a items out=()
	array "${PARAMS[items]-}" || {
		error -32602 'invalid params: \"items\" must be an array'
		return
	}
	items=("${ELEMS[@]}")
	[[ $star == true || $star == false ]] || {
		error -32602 'invalid params: \"star\" must be true or false'
		return
	}
	known || return
	for item in "${items[@]}"; do
		# integer's test inline: a function call per item would double the cost.
		if [[ $star == false && ${item#-} == @(0|[1-9]*([0-9])) && ${#item} -le 18 ]]; then
			out[i++]=$((item * 2))
			continue
		fi
		if [[ $star == false ]]; then
			double "$item"
		elif array "$item"; then
			double "${ELEMS[@]}"
		else
			ETYPE=TypeError EMSG='with star, each item must be an array of arguments' ELINE=$LINENO
			false
		fi || {
			task_failed "$i"
			return
		}
		out[i++]=$R
	done
	local IFS=,
	result "[${out[*]}]"
}

handle() {
	local line=${1%$'\r'} method
	[[ $line == *[![:space:]]* ]] || return # blank lines are not messages
	ID=null
	if ! mask "$line"; then
		error -32700 'parse error: the line is not valid JSON'
		return
	fi
	if ! members "$SKEL" MSG; then
		if [[ $SKEL == @(\[*\]|[-0-9]*|true|false|null|@+([0-9])) ]]; then
			error -32600 'invalid request: a message must be one JSON object (batches are not accepted)'
		else
			error -32700 'parse error: the line is not valid JSON'
		fi
		return
	fi
	if [[ -v MSG[id] ]]; then
		ID=${MSG[id]}
		if string "$ID"; then
			ID="\"$S\""
		elif [[ $ID != @([-0-9]*([-+.eE0-9])|null) ]]; then
			ID=null
			error -32600 'invalid request: id must be a string or a number'
			return
		fi
	fi
	if ! string "${MSG[method]-}"; then
		# A response to a call of ours; this worker makes none.
		[[ -v MSG[result] || -v MSG[error] ]] && return
		error -32600 'invalid request: \"method\" is required and must be a string'
		return
	fi
	method=$S
	if ! string "${MSG[jsonrpc]-}" || [[ $S != 2.0 ]]; then
		[[ -v MSG[id] ]] && error -32600 'invalid request: \"jsonrpc\" must be \"2.0\"'
		return
	fi
	[[ -v MSG[id] ]] || return # a notification: nothing to say, whatever it asked
	if [[ $method != corral.hello ]] && ((!READY)); then
		error -32001 "not initialized: corral.hello must come first (got $method)"
		return
	fi
	case $method in
	corral.hello) hello ;;
	task.run) run ;;
	task.map) map ;;
	*) error -32601 "method not found: $method" ;;
	esac
}

while IFS= read -r -u "$in_fd" line || [[ -n $line ]]; do
	handle "$line"
done
exit 0
