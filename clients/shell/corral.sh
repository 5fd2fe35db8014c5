# shellcheck shell=bash
# corral.sh: the shell shim for corral.
#
# Source it from bash 4.4 or later:
#
#     . /path/to/clients/shell/corral.sh
#
# and you get
#
#   - one function per shared-object operation of `corral ctl`, named
#     corral_FAMILY_OP (corral_queue_put, corral_dict_get, …), which takes
#     the same arguments as `corral ctl FAMILY OP` (JSON values, --timeout,
#     --no-block), prints what it prints and returns its exit status:
#     0 success, 1 a negative answer (timeout, empty, full, not acquired),
#     2 usage error, 3 an error from the supervisor or no connection;
#   - predicates (corral_queue_empty, corral_event_is_set, …) that print
#     nothing and return 0 for true, 1 for false;
#   - locks and semaphores that stay held between calls
#     (corral_lock_acquire, corral_lock_release), and corral_with_lock /
#     corral_with_semaphore, which run a command or a bash function holding
#     one;
#   - corral_quote and corral_unquote, between text and JSON strings;
#   - corral_serve FN…, a worker loop that serves bash functions as the
#     functions of an rpc pool.
#
# The binary is $CORRAL_BIN when set, else `corral` on PATH; the supervisor is
# the one on $CORRAL_SOCKET, which corral sets for every worker and process it
# starts. clients/shell/README.md is the reference.
#
# Names starting with _corral_ or _CORRAL_ are this file's own.

if [ -z "${BASH_VERSION-}" ]; then
	echo "corral.sh: this file is for bash" >&2
	return 2 2>/dev/null || exit 2
fi
if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
	echo "corral.sh: needs bash 4.4 or later; this is bash $BASH_VERSION" >&2
	return 2 2>/dev/null || exit 2
fi

# The patterns below use extglob; bash reads them when it parses the
# functions, so it is on while this file is read and put back after.
_CORRAL_EXTGLOB=0
shopt -q extglob && _CORRAL_EXTGLOB=1
shopt -s extglob

# Locks and semaphores held by this shell: "KIND:NAME" -> "PID:W:R …", one
# word per acquisition (semaphores may be acquired more than once).
[[ -v _CORRAL_HELD[@] ]] || declare -gA _CORRAL_HELD=()

# Control characters and their JSON escapes, for _corral_quote.
declare -ga _CORRAL_CHR=() _CORRAL_UESC=()
_corral_i=1
while ((_corral_i < 32)); do
	printf -v _CORRAL_CHR[_corral_i] '%03o' "$_corral_i"
	printf -v _CORRAL_CHR[_corral_i] "\\${_CORRAL_CHR[_corral_i]}"
	printf -v _CORRAL_UESC[_corral_i] '\\u%04x' "$_corral_i"
	((_corral_i++)) || :
done
unset _corral_i
_CORRAL_CC=$'[\001-\037]'
# One valid UTF-8 sequence, for _corral_utf8_repair (bytes; matched in the C
# locale). \x01-\x7f: bash strings hold no NUL.
_CORRAL_U8RE=$'^([\x01-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf][\x80-\xbf]|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf][\x80-\xbf]|[\xf1-\xf3][\x80-\xbf][\x80-\xbf][\x80-\xbf]|\xf4[\x80-\x8f][\x80-\xbf][\x80-\xbf])*'
# Marks the end of a task's output, so that its own trailing newlines are kept.
_CORRAL_END=$'\036corral-end\036'

# ---------------------------------------------------------------------------
# Running corral

# _corral_run ARGS…: runs the corral binary.
_corral_run() {
	if [[ -n ${CORRAL_BIN-} ]]; then
		"$CORRAL_BIN" "$@"
	elif hash corral 2>/dev/null; then
		command corral "$@"
	else
		printf '%s\n' "corral.sh: the corral binary was not found: set CORRAL_BIN to its path or put it on PATH" >&2
		return 127
	fi
}

# _corral_pred ARGS…: runs corral ctl ARGS… and turns a true/false answer into
# status 0/1; errors keep their status.
_corral_pred() {
	local _corral_out _corral_rc=0
	_corral_out=$(_corral_run ctl "$@") || _corral_rc=$?
	((_corral_rc == 0)) || return "$_corral_rc"
	case $_corral_out in
	true) return 0 ;;
	false) return 1 ;;
	esac
	[[ -z $_corral_out ]] || printf '%s\n' "$_corral_out"
}

# corral_ctl ARGS…: corral ctl ARGS…, for anything the functions below leave out.
corral_ctl() { _corral_run ctl "$@"; }
# corral_status [--json]: the supervisor's pools, processes and objects.
corral_status() { _corral_run status "$@"; }

corral_object_create() { _corral_run ctl object create "$@"; } # KIND NAME [PARAMS-JSON]
corral_object_delete() { _corral_run ctl object delete "$@"; } # NAME
corral_object_list() { _corral_run ctl object list "$@"; }

# Queues (and joinablequeue).
corral_queue_put() { _corral_run ctl queue put "$@"; }                 # NAME ITEM [--timeout S] [--no-block]
corral_queue_put_nowait() { _corral_run ctl queue put_nowait "$@"; }   # NAME ITEM
corral_queue_get() { _corral_run ctl queue get "$@"; }                 # NAME [--timeout S] [--no-block]
corral_queue_get_nowait() { _corral_run ctl queue get_nowait "$@"; }   # NAME
corral_queue_qsize() { _corral_run ctl queue qsize "$@"; }             # NAME
corral_queue_empty() { _corral_pred queue empty "$@"; }                # NAME (predicate)
corral_queue_full() { _corral_pred queue full "$@"; }                  # NAME (predicate)
corral_queue_close() { _corral_run ctl queue close "$@"; }             # NAME
corral_queue_task_done() { _corral_run ctl queue task_done "$@"; }     # NAME
corral_queue_join() { _corral_run ctl queue join "$@"; }               # NAME [--timeout S]

# Locks: corral_lock_acquire and corral_lock_release are below.
corral_lock_locked() { _corral_pred lock locked "$@"; } # NAME (predicate)

# Semaphores: corral_semaphore_acquire and corral_semaphore_release are below.
corral_semaphore_value() { _corral_run ctl semaphore value "$@"; } # NAME

# Events.
corral_event_set() { _corral_run ctl event set "$@"; }       # NAME
corral_event_clear() { _corral_run ctl event clear "$@"; }   # NAME
corral_event_is_set() { _corral_pred event is_set "$@"; }    # NAME (predicate)
corral_event_wait() { _corral_pred event wait "$@"; }         # NAME [--timeout S] (predicate)

# Barriers.
corral_barrier_wait() { _corral_run ctl barrier wait "$@"; }           # NAME [--timeout S]
corral_barrier_abort() { _corral_run ctl barrier abort "$@"; }         # NAME
corral_barrier_reset() { _corral_run ctl barrier reset "$@"; }         # NAME
corral_barrier_broken() { _corral_pred barrier broken "$@"; }          # NAME (predicate)
corral_barrier_n_waiting() { _corral_run ctl barrier n_waiting "$@"; } # NAME
corral_barrier_parties() { _corral_run ctl barrier parties "$@"; }     # NAME

# Typed values.
corral_value_get() { _corral_run ctl value get "$@"; }                           # NAME
corral_value_set() { _corral_run ctl value set "$@"; }                           # NAME VALUE
corral_value_add() { _corral_run ctl value add "$@"; }                           # NAME DELTA
corral_value_compare_and_swap() { _corral_pred value compare_and_swap "$@"; }    # NAME OLD NEW (predicate)

# Typed arrays.
corral_array_len() { _corral_run ctl array len "$@"; }             # NAME
corral_array_get() { _corral_run ctl array get "$@"; }             # NAME INDEX
corral_array_set() { _corral_run ctl array set "$@"; }             # NAME INDEX VALUE
corral_array_slice() { _corral_run ctl array slice "$@"; }         # NAME [START] [STOP]
corral_array_set_slice() { _corral_run ctl array set_slice "$@"; } # NAME [START] [STOP] VALUES

# Dicts.
corral_dict_get() { _corral_run ctl dict get "$@"; }               # NAME KEY [DEFAULT]
corral_dict_set() { _corral_run ctl dict set "$@"; }               # NAME KEY VALUE
corral_dict_delete() { _corral_run ctl dict delete "$@"; }         # NAME KEY
corral_dict_contains() { _corral_pred dict contains "$@"; }        # NAME KEY (predicate)
corral_dict_len() { _corral_run ctl dict len "$@"; }               # NAME
corral_dict_keys() { _corral_run ctl dict keys "$@"; }             # NAME
corral_dict_values() { _corral_run ctl dict values "$@"; }         # NAME
corral_dict_items() { _corral_run ctl dict items "$@"; }           # NAME
corral_dict_update() { _corral_run ctl dict update "$@"; }         # NAME PAIRS
corral_dict_pop() { _corral_run ctl dict pop "$@"; }               # NAME KEY [DEFAULT]
corral_dict_popitem() { _corral_run ctl dict popitem "$@"; }       # NAME
corral_dict_setdefault() { _corral_run ctl dict setdefault "$@"; } # NAME KEY [DEFAULT]
corral_dict_clear() { _corral_run ctl dict clear "$@"; }           # NAME
corral_dict_copy() { _corral_run ctl dict copy "$@"; }             # NAME

# Lists.
corral_list_append() { _corral_run ctl list append "$@"; }   # NAME ITEM
corral_list_extend() { _corral_run ctl list extend "$@"; }   # NAME ITEMS
corral_list_insert() { _corral_run ctl list insert "$@"; }   # NAME INDEX ITEM
corral_list_pop() { _corral_run ctl list pop "$@"; }         # NAME [INDEX]
corral_list_remove() { _corral_run ctl list remove "$@"; }   # NAME ITEM
corral_list_index() { _corral_run ctl list index "$@"; }     # NAME ITEM [START] [STOP]
corral_list_count() { _corral_run ctl list count "$@"; }     # NAME ITEM
corral_list_reverse() { _corral_run ctl list reverse "$@"; } # NAME
corral_list_sort() { _corral_run ctl list sort "$@"; }       # NAME [REVERSE]
corral_list_len() { _corral_run ctl list len "$@"; }         # NAME
corral_list_get() { _corral_run ctl list get "$@"; }         # NAME INDEX
corral_list_set() { _corral_run ctl list set "$@"; }         # NAME INDEX ITEM
corral_list_slice() { _corral_run ctl list slice "$@"; }     # NAME [START] [STOP] [STEP]
corral_list_delete() { _corral_run ctl list delete "$@"; }   # NAME [INDEX] [start=N] [stop=N] [step=N]

# Namespaces.
corral_namespace_get() { _corral_run ctl namespace get "$@"; }       # NAME ATTR
corral_namespace_set() { _corral_run ctl namespace set "$@"; }       # NAME ATTR VALUE
corral_namespace_delete() { _corral_run ctl namespace delete "$@"; } # NAME ATTR
corral_namespace_attrs() { _corral_run ctl namespace attrs "$@"; }   # NAME

# Pipes.
corral_pipe_send() { _corral_run ctl pipe send "$@"; }   # NAME END MSG
corral_pipe_recv() { _corral_run ctl pipe recv "$@"; }   # NAME END [--timeout S] [--no-block]
corral_pipe_poll() { _corral_pred pipe poll "$@"; }      # NAME END [--timeout S] (predicate)
corral_pipe_close() { _corral_run ctl pipe close "$@"; } # NAME END

# ---------------------------------------------------------------------------
# Held locks and semaphores
#
# The supervisor ties a lock to the connection that acquired it, and every
# `corral ctl` is a connection of its own, so `corral ctl lock acquire`
# releases the lock as it exits. To hold one across calls this shell keeps a
# `corral ctl with-lock NAME -- HOLDER` running in the background: HOLDER
# reports that the lock is held, then waits for the end of its stdin, a pipe
# whose only writer is this shell. Releasing closes the pipe (and stops
# HOLDER); when this shell exits, however it exits, the pipe closes too and
# the lock is released: a held lock never outlives its shell.

# _corral_wait_opts ARGS…: puts ctl's wait flags for with-lock in
# _corral_wopts (--no-block is --timeout 0 there), and whatever is not one
# in _corral_rest. Fails (2) on a flag that needs a value and has none.
_corral_wait_opts() {
	_corral_wopts=() _corral_rest=()
	while (($#)); do
		case $1 in
		--timeout | -timeout | --socket | -socket)
			if (($# < 2)); then
				printf '%s\n' "corral.sh: $1 needs a value" >&2
				return 2
			fi
			_corral_wopts+=("$1" "$2")
			shift 2
			continue
			;;
		--timeout=* | -timeout=* | --socket=* | -socket=*) _corral_wopts+=("$1") ;;
		--no-block | -no-block) _corral_wopts+=(--timeout 0) ;;
		--)
			_corral_rest+=("$@")
			return 0
			;;
		*) _corral_rest+=("$1") ;;
		esac
		shift
	done
}

# _corral_hold KIND NAME [--timeout S] [--no-block] [--socket P]: acquires
# and keeps holding.
_corral_hold() {
	local _corral_kind=$1 _corral_name=${2-}
	local -a _corral_wopts _corral_rest
	if [[ -z $_corral_name || $_corral_name == -* ]]; then
		printf '%s\n' "usage: corral_${_corral_kind}_acquire NAME [--timeout S] [--no-block]" >&2
		return 2
	fi
	shift 2
	_corral_wait_opts "$@" || return
	if ((${#_corral_rest[@]})); then
		printf '%s\n' "corral_${_corral_kind}_acquire: unexpected argument '${_corral_rest[0]}' (usage: corral_${_corral_kind}_acquire NAME [--timeout S] [--no-block])" >&2
		return 2
	fi
	if [[ -z ${CORRAL_BIN-} ]] && ! hash corral 2>/dev/null; then
		_corral_run # says why
		return
	fi
	local _corral_w='' _corral_r _corral_line='' _corral_entry _corral_rc _corral_fdn _corral_fifo=''
	if [[ $OSTYPE == linux* && -z ${_CORRAL_HOLD_FIFO-} ]]; then
		# A pipe both ends of which this shell holds: <(:) makes it, and
		# opening its /dev/fd read-write (Linux reopens the pipe) keeps it
		# after : exits.
		exec {_corral_w}<> <(:) || return 3
	else
		# Elsewhere a named pipe in a private directory, removed once open.
		_corral_fifo=$(mktemp -d "${TMPDIR:-/tmp}/corral-sh.XXXXXX") || return 3
		_corral_fifo+=/hold
		if ! mkfifo -m 600 "$_corral_fifo"; then
			rm -rf -- "${_corral_fifo%/hold}"
			return 3
		fi
	fi
	exec {_corral_r}< <(
		set +e
		if [[ -n $_corral_fifo ]]; then
			exec <"$_corral_fifo"
		else
			exec </dev/fd/"$_corral_w" {_corral_w}>&-
		fi
		# Other holds' pipes stay with this shell alone.
		IFS=' '
		for _corral_entry in ${_CORRAL_HELD[@]+"${_CORRAL_HELD[@]}"}; do
			for _corral_entry in $_corral_entry; do
				_corral_fdn=${_corral_entry#*:}
				_corral_fdn=${_corral_fdn%:*}
				exec {_corral_fdn}>&-
				_corral_fdn=${_corral_entry##*:}
				exec {_corral_fdn}<&-
			done
		done
		_corral_run ctl "${_corral_wopts[@]}" "with-$_corral_kind" "$_corral_name" -- \
			"$BASH" -c 'printf "acquired %s\n" "$$"; while IFS= read -r _; do :; done'
		printf 'exit %s\n' "$?"
	) || {
		[[ -z $_corral_w ]] || exec {_corral_w}>&-
		[[ -z $_corral_fifo ]] || rm -rf -- "${_corral_fifo%/hold}"
		return 3
	}
	if [[ -n $_corral_fifo ]]; then
		# Opens when the reader above has; then the name can go.
		exec {_corral_w}>"$_corral_fifo"
		rm -rf -- "${_corral_fifo%/hold}"
	fi
	IFS= read -r -u "$_corral_r" _corral_line || _corral_line=''
	if [[ $_corral_line == "acquired "[1-9]* ]]; then
		_corral_entry="${_corral_line#acquired }:$_corral_w:$_corral_r"
		_CORRAL_HELD[$_corral_kind:$_corral_name]+="${_CORRAL_HELD[$_corral_kind:$_corral_name]:+ }$_corral_entry"
		return 0
	fi
	exec {_corral_w}>&- {_corral_r}<&-
	_corral_rc=3
	[[ $_corral_line == "exit "[0-9]* ]] && _corral_rc=${_corral_line#exit }
	((_corral_rc != 0)) || _corral_rc=3
	return "$_corral_rc"
}

# _corral_unhold KIND NAME: releases the last acquisition this shell holds;
# fails (4) when it holds none.
_corral_unhold() {
	local _corral_key=$1:$2 _corral_list _corral_entry _corral_pid _corral_w _corral_r _corral_line=''
	_corral_list=${_CORRAL_HELD[$_corral_key]-}
	[[ -n $_corral_list ]] || return 4
	_corral_entry=${_corral_list##* }
	if [[ $_corral_list == *' '* ]]; then
		_CORRAL_HELD[$_corral_key]=${_corral_list% *}
	else
		unset '_CORRAL_HELD[$_corral_key]'
	fi
	_corral_pid=${_corral_entry%%:*}
	_corral_r=${_corral_entry##*:}
	_corral_w=${_corral_entry#*:}
	_corral_w=${_corral_w%:*}
	exec {_corral_w}>&-
	# Closing is enough unless a background child of this shell kept a copy.
	kill -TERM "$_corral_pid" 2>/dev/null || :
	IFS= read -r -u "$_corral_r" _corral_line || _corral_line=''
	exec {_corral_r}<&-
	case $_corral_line in
	'exit 0' | 'exit 143') return 0 ;;
	"exit "[0-9]*) return "${_corral_line#exit }" ;;
	esac
	return 3
}

# corral_lock_acquire NAME [--timeout S] [--no-block]: acquires the lock and
# holds it until corral_lock_release NAME or the end of this shell. Status 1
# when not acquired within the timeout (or at once, with --no-block).
corral_lock_acquire() { _corral_hold lock "$@"; }

# corral_lock_release NAME: releases a lock this shell holds; status 3 (the
# supervisor's not_owner) when it holds none.
corral_lock_release() {
	local _corral_rc=0
	_corral_unhold lock "${1-}" || _corral_rc=$?
	if ((_corral_rc == 4)); then
		_corral_run ctl lock release "$@"
		return
	fi
	return "$_corral_rc"
}

# corral_semaphore_acquire NAME [--timeout S] [--no-block]: takes one permit
# and holds it until corral_semaphore_release NAME or the end of this shell.
corral_semaphore_acquire() { _corral_hold semaphore "$@"; }

# corral_semaphore_release NAME: gives back a permit this shell holds, or,
# holding none, releases one on the supervisor as Semaphore.release() does.
corral_semaphore_release() {
	local _corral_rc=0
	_corral_unhold semaphore "${1-}" || _corral_rc=$?
	if ((_corral_rc == 4)); then
		_corral_run ctl semaphore release "$@"
		return
	fi
	return "$_corral_rc"
}

# _corral_with KIND NAME [--timeout S] [--no-block] [--] CMD ARGS…
_corral_with() {
	local _corral_kind=$1 _corral_name=${2-} _corral_rc=0
	local -a _corral_wopts _corral_rest
	shift 2 || shift $#
	if [[ -n $_corral_name && $_corral_name != -* ]]; then
		# Flags up to CMD (or --); everything from CMD on is CMD's.
		local -a _corral_flags=()
		while (($#)); do
			case $1 in
			--timeout | -timeout | --socket | -socket)
				_corral_flags+=("$1" "${2-}")
				shift 2 || shift $#
				;;
			--timeout=* | -timeout=* | --socket=* | -socket=* | --no-block | -no-block)
				_corral_flags+=("$1")
				shift
				;;
			--)
				shift
				break
				;;
			*) break ;;
			esac
		done
	fi
	if [[ -z $_corral_name || $_corral_name == -* ]] || (($# == 0)); then
		printf '%s\n' "usage: corral_with_$_corral_kind NAME [--timeout S] [--no-block] [--] CMD ARGS…" >&2
		return 2
	fi
	_corral_hold "$_corral_kind" "$_corral_name" ${_corral_flags[@]+"${_corral_flags[@]}"} || return
	# Not `"$@" || …`, which would exempt CMD from set -e. Should set -e end
	# this shell here, the lock goes with it.
	"$@"
	_corral_rc=$?
	_corral_unhold "$_corral_kind" "$_corral_name" || { ((_corral_rc != 0)) || _corral_rc=$?; }
	return "$_corral_rc"
}

# corral_with_lock NAME [--timeout S] [--no-block] [--] CMD ARGS…: runs CMD (a
# command, a builtin or a bash function, in this shell) holding the lock, and
# returns its status; 1 without running it when the lock was not acquired.
corral_with_lock() { _corral_with lock "$@"; }

# corral_with_semaphore NAME [--timeout S] [--no-block] [--] CMD ARGS…: the same
# with one permit of a semaphore.
corral_with_semaphore() { _corral_with semaphore "$@"; }

# ---------------------------------------------------------------------------
# JSON
#
# JSON is read the way examples/doubler.sh reads it: string literals are cut
# out first and replaced by @N (their escaped text kept in _CORRAL_STRS[N]),
# so that quotes, commas and brackets inside strings cannot mislead what
# follows; objects and arrays are then split at their own top level.

# _corral_mask TEXT: sets _CORRAL_SKEL to TEXT with every string literal
# replaced by @N and white space outside strings removed, and _CORRAL_STRS.
# Fails on an unclosed string or a character JSON has no use for.
_corral_mask() {
	local - IFS='"' _corral_part _corral_cur='' _corral_inside=0
	local -a _corral_parts _corral_skel=()
	set -f
	# The trailing space keeps a last empty field, which splitting would drop.
	_corral_parts=($1' ')
	_CORRAL_STRS=()
	for _corral_part in "${_corral_parts[@]}"; do
		if ((_corral_inside)); then
			_corral_cur+=$_corral_part
			if [[ $_corral_part == *\\ && ${_corral_part%%*(\\\\)} == *\\ ]]; then # an escaped quote
				_corral_cur+='"'
				continue
			fi
			_corral_skel+=("@${#_CORRAL_STRS[@]}")
			_CORRAL_STRS+=("$_corral_cur")
			_corral_cur='' _corral_inside=0
		else
			_corral_skel+=("$_corral_part")
			_corral_inside=1
		fi
	done
	IFS=''
	_CORRAL_SKEL="${_corral_skel[*]}"
	if [[ $_CORRAL_SKEL == *[[:space:]]* ]]; then
		IFS=$' \t\r\n'
		_corral_skel=($_CORRAL_SKEL)
		IFS=''
		_CORRAL_SKEL="${_corral_skel[*]}"
	fi
	((_corral_inside)) && [[ $_CORRAL_SKEL != *[!][{}:,@0-9a-zA-Z.+-]* ]]
}

# _corral_split TEXT: sets _CORRAL_ELEMS to TEXT's comma-separated elements,
# split at the top level only. Fails on unbalanced brackets.
_corral_split() {
	local - IFS=, _corral_f _corral_t
	local -i _corral_depth=0
	local -a _corral_acc=()
	set -f
	_CORRAL_ELEMS=()
	[[ -n $1 ]] || return 0
	if [[ $1 != *[[{]* ]]; then
		_CORRAL_ELEMS=($1)
		return 0
	fi
	for _corral_f in $1; do
		_corral_acc+=("$_corral_f")
		if [[ $_corral_f == *[][{}]* ]]; then
			_corral_t=${_corral_f//[^[\{]/}
			_corral_depth+=${#_corral_t}
			_corral_t=${_corral_f//[^\]\}]/}
			_corral_depth=_corral_depth-${#_corral_t}
			((_corral_depth >= 0)) || return 1
		fi
		if ((_corral_depth == 0)); then
			_CORRAL_ELEMS+=("${_corral_acc[*]}")
			_corral_acc=()
		fi
	done
	((_corral_depth == 0))
}

# _corral_members OBJ NAME: fills the associative array NAME with OBJ's
# members, key text (escaped) -> value skeleton. Fails unless OBJ is an object.
_corral_members() {
	local -n _corral_m=$2
	local _corral_e _corral_k _corral_v
	_corral_m=()
	[[ $1 == \{*\} ]] && _corral_split "${1:1:${#1}-2}" || return 1
	for _corral_e in ${_CORRAL_ELEMS[@]+"${_CORRAL_ELEMS[@]}"}; do
		_corral_k=${_corral_e%%:*} _corral_v=${_corral_e#*:}
		[[ $_corral_k == @+([0-9]) && $_corral_e == *:* ]] || return 1
		[[ $_corral_v == @(@+([0-9])|[-0-9]*([-+.eE0-9])|true|false|null|\{*\}|\[*\]) ]] || return 1
		if [[ -n ${_CORRAL_STRS[${_corral_k:1}]} ]]; then # bash arrays have no "" key
			_corral_m[${_CORRAL_STRS[${_corral_k:1}]}]=$_corral_v
		fi
	done
	return 0
}

# _corral_unmask SKEL: sets _CORRAL_J to SKEL with its strings put back.
_corral_unmask() {
	local _corral_t=$1 _corral_n
	_CORRAL_J=''
	while [[ $_corral_t == *@* ]]; do
		_CORRAL_J+=${_corral_t%%@*}
		_corral_t=${_corral_t#*@}
		_corral_n=${_corral_t%%[!0-9]*}
		_corral_t=${_corral_t:${#_corral_n}}
		_CORRAL_J+="\"${_CORRAL_STRS[_corral_n]}\""
	done
	_CORRAL_J+=$_corral_t
}

# _corral_utf8 CODEPOINT: sets _CORRAL_U8 to its UTF-8 bytes.
_corral_utf8() {
	local -i u=$1
	local f
	if ((u < 0x80)); then
		printf -v f '\\x%02x' "$u"
	elif ((u < 0x800)); then
		printf -v f '\\x%02x\\x%02x' $((0xC0 | u >> 6)) $((0x80 | (u & 0x3F)))
	elif ((u < 0x10000)); then
		printf -v f '\\x%02x\\x%02x\\x%02x' $((0xE0 | u >> 12)) $((0x80 | (u >> 6 & 0x3F))) $((0x80 | (u & 0x3F)))
	else
		printf -v f '\\x%02x\\x%02x\\x%02x\\x%02x' $((0xF0 | u >> 18)) $((0x80 | (u >> 12 & 0x3F))) $((0x80 | (u >> 6 & 0x3F))) $((0x80 | (u & 0x3F)))
	fi
	printf -v _CORRAL_U8 '%b' "$f"
}

# _corral_unescape TEXT: sets _CORRAL_S to the text of a JSON string's inside.
# Fails with 1 on a bad escape, 2 on \u0000 (bash strings cannot hold NUL).
_corral_unescape() {
	local _corral_s=$1 _corral_out='' _corral_c _corral_h
	local -i _corral_u _corral_u2
	while [[ $_corral_s == *\\* ]]; do
		_corral_out+=${_corral_s%%\\*}
		_corral_s=${_corral_s#*\\}
		_corral_c=${_corral_s:0:1}
		_corral_s=${_corral_s:1}
		case $_corral_c in
		n) _corral_out+=$'\n' ;;
		t) _corral_out+=$'\t' ;;
		r) _corral_out+=$'\r' ;;
		b) _corral_out+=$'\b' ;;
		f) _corral_out+=$'\f' ;;
		'"' | '\' | /) _corral_out+=$_corral_c ;;
		u)
			_corral_h=${_corral_s:0:4}
			[[ $_corral_h == [0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F] ]] || return 1
			_corral_s=${_corral_s:4}
			_corral_u=16#$_corral_h
			if ((_corral_u >= 0xD800 && _corral_u <= 0xDBFF)) && [[ ${_corral_s:0:2} == '\u' && ${_corral_s:2:4} == [dD][c-fC-F][0-9a-fA-F][0-9a-fA-F] ]]; then
				_corral_u2=16#${_corral_s:2:4}
				_corral_s=${_corral_s:6}
				_corral_u=$((0x10000 + ((_corral_u - 0xD800) << 10) + (_corral_u2 - 0xDC00)))
			elif ((_corral_u >= 0xD800 && _corral_u <= 0xDFFF)); then
				_corral_u=0xFFFD # a lone surrogate
			fi
			((_corral_u != 0)) || return 2
			_corral_utf8 "$_corral_u"
			_corral_out+=$_CORRAL_U8
			;;
		*) return 1 ;;
		esac
	done
	_CORRAL_S=$_corral_out$_corral_s
}

# _corral_utf8_repair TEXT: sets _CORRAL_S to TEXT with every byte that is
# not part of a valid UTF-8 sequence replaced by U+FFFD, as Go's encoder
# does. JSON is UTF-8: a message holding other bytes is no message at all.
_corral_utf8_repair() {
	local LC_ALL=C
	local _corral_s=$1 _corral_out=''
	# The regular expression takes the longest valid prefix in one go.
	while [[ $_corral_s =~ $_CORRAL_U8RE ]] && ((${#BASH_REMATCH[0]} < ${#_corral_s})); do
		_corral_out+=${BASH_REMATCH[0]}$'\xef\xbf\xbd'
		_corral_s=${_corral_s:${#BASH_REMATCH[0]}+1}
	done
	_CORRAL_S=$_corral_out$_corral_s
}

# _corral_quote TEXT: sets _CORRAL_Q to TEXT as a JSON string. UTF-8 passes
# through as it is; bytes that are not UTF-8 become U+FFFD.
_corral_quote() {
	local _corral_s=$1 _CORRAL_S
	local -i _corral_i
	if [[ $_corral_s == *[![:ascii:]]* ]]; then
		_corral_utf8_repair "$_corral_s"
		_corral_s=$_CORRAL_S
	fi
	if [[ $_corral_s == *[\"\\]* ]]; then
		_corral_s=${_corral_s//\\/\\\\}
		_corral_s=${_corral_s//\"/\\\"}
	fi
	if [[ $_corral_s == *$_CORRAL_CC* ]]; then
		_corral_s=${_corral_s//$'\n'/\\n}
		_corral_s=${_corral_s//$'\t'/\\t}
		_corral_s=${_corral_s//$'\r'/\\r}
		if [[ $_corral_s == *$_CORRAL_CC* ]]; then
			for ((_corral_i = 1; _corral_i < 32; _corral_i++)); do
				if [[ $_corral_s == *"${_CORRAL_CHR[_corral_i]}"* ]]; then
					_corral_s=${_corral_s//"${_CORRAL_CHR[_corral_i]}"/"${_CORRAL_UESC[_corral_i]}"}
				fi
			done
		fi
	fi
	_CORRAL_Q=\"$_corral_s\"
}

# _corral_flat OPEN BODY: checks the inside of an array ([) or object ({)
# whose elements are all scalars.
_corral_flat() {
	local - IFS=, _corral_e
	set -f
	[[ -n $2 ]] || return 0
	[[ $2 != ,* && $2 != *, && $2 != *,,* ]] || return 1
	for _corral_e in $2; do
		if [[ $1 == '{' ]]; then
			[[ $_corral_e == @+([0-9]):* ]] || return 1
			_corral_e=${_corral_e#*:}
		fi
		[[ $_corral_e == @(@+([0-9])|?(-)@(0|[1-9]*([0-9]))?(.+([0-9]))?([eE]?([+-])+([0-9]))|true|false|null) ]] || return 1
	done
}

# _corral_valid TEXT: checks that TEXT is one JSON value and sets _CORRAL_J
# to it compacted onto one line.
_corral_valid() {
	local _corral_t _corral_pre _corral_rest _corral_body _corral_open _corral_close _corral_str
	_corral_mask "$1" || return 1
	_corral_t=$_CORRAL_SKEL
	[[ -n $_corral_t ]] || return 1
	for _corral_str in ${_CORRAL_STRS[@]+"${_CORRAL_STRS[@]}"}; do
		[[ $_corral_str != *$_CORRAL_CC* ]] || return 1
		if [[ $_corral_str == *\\* ]]; then
			_corral_str=${_corral_str//\\[\"\\\/bfnrt]/}
			_corral_str=${_corral_str//\\u[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]/}
			[[ $_corral_str != *\\* ]] || return 1
		fi
	done
	# Reduce the innermost array or object to a scalar until none is left.
	while [[ $_corral_t == *[[{]* ]]; do
		_corral_pre=${_corral_t%[[{]*}
		_corral_rest=${_corral_t:${#_corral_pre}}
		_corral_open=${_corral_rest:0:1}
		_corral_rest=${_corral_rest:1}
		[[ $_corral_rest == *[]}]* ]] || return 1
		_corral_body=${_corral_rest%%[]\}]*}
		_corral_close=${_corral_rest:${#_corral_body}:1}
		[[ $_corral_open$_corral_close == '[]' || $_corral_open$_corral_close == '{}' ]] || return 1
		_corral_flat "$_corral_open" "$_corral_body" || return 1
		_corral_t=${_corral_pre}null${_corral_rest:${#_corral_body}+1}
	done
	[[ $_corral_t == @(@+([0-9])|?(-)@(0|[1-9]*([0-9]))?(.+([0-9]))?([eE]?([+-])+([0-9]))|true|false|null) ]] || return 1
	_corral_unmask "$_CORRAL_SKEL"
}

# _corral_text VALUE-SKELETON: sets _CORRAL_S to a value as a bash function
# gets it: a string's text, a number, true or false as written, null as
# nothing, an array or object as compact JSON; and _CORRAL_J to its JSON.
_corral_text() {
	case $1 in
	@*)
		_CORRAL_J="\"${_CORRAL_STRS[${1:1}]}\""
		_corral_unescape "${_CORRAL_STRS[${1:1}]}"
		;;
	null)
		_CORRAL_J=null _CORRAL_S=''
		;;
	\[* | \{*)
		_corral_unmask "$1"
		_CORRAL_S=$_CORRAL_J
		;;
	*) _CORRAL_J=$1 _CORRAL_S=$1 ;;
	esac
}

# corral_quote [-v VAR] TEXT: prints TEXT as a JSON string (or sets VAR to it).
#     corral_queue_put jobs "$(corral_quote "$file")"
corral_quote() {
	local _corral_var=''
	if [[ ${1-} == -v ]]; then
		_corral_var=${2-}
		shift 2 || shift $#
	fi
	if (($# != 1)); then
		printf '%s\n' "usage: corral_quote [-v VAR] TEXT" >&2
		return 2
	fi
	local _CORRAL_Q
	_corral_quote "$1"
	if [[ -n $_corral_var ]]; then
		printf -v "$_corral_var" '%s' "$_CORRAL_Q"
	else
		printf '%s\n' "$_CORRAL_Q"
	fi
}

# corral_unquote [-v VAR] JSON: prints the text of a JSON string (a number,
# true or false as written, null as nothing, an array or object as compact
# JSON), as corral_serve passes arguments; or sets VAR to it, exactly. Status
# 2 when JSON is not valid JSON.
#     item=$(corral_queue_get jobs) && corral_unquote -v file "$item"
corral_unquote() {
	local _corral_eg=0 _corral_rc=0
	shopt -q extglob && _corral_eg=1
	shopt -s extglob
	_corral_unquote "$@" || _corral_rc=$?
	((_corral_eg)) || shopt -u extglob
	return "$_corral_rc"
}

_corral_unquote() {
	local _corral_var=''
	if [[ ${1-} == -v ]]; then
		_corral_var=${2-}
		shift 2 || shift $#
	fi
	if (($# != 1)); then
		printf '%s\n' "usage: corral_unquote [-v VAR] JSON" >&2
		return 2
	fi
	local _CORRAL_SKEL _CORRAL_J _CORRAL_S _CORRAL_U8
	local -a _CORRAL_STRS
	if ! _corral_valid "$1"; then
		printf '%s\n' "corral_unquote: not valid JSON: $1" >&2
		return 2
	fi
	if ! _corral_text "$_CORRAL_SKEL"; then
		printf '%s\n' "corral_unquote: a string with \\u0000, which bash cannot hold: $1" >&2
		return 2
	fi
	if [[ -n $_corral_var ]]; then
		printf -v "$_corral_var" '%s' "$_CORRAL_S"
	else
		printf '%s\n' "$_CORRAL_S"
	fi
}

# ---------------------------------------------------------------------------
# corral_serve: a worker loop
#
# corral_serve [--name NAME] FN[:MODE]…
#
# Serves the bash functions (or commands) FN… to the supervisor on stdin and
# stdout (fds 3 and 4 in the fds mode), and returns 0 when the supervisor
# closes its input. Each task runs FN in a subshell with the task's arguments
# as positional parameters (see _corral_text), stdin from /dev/null, and the
# shell options -e, -u, -f and pipefail as they were when corral_serve was
# called. What FN prints on stdout, less one trailing newline, is the result:
#
#   auto   (the default) a JSON number, true, false or null when the output
#          is exactly one of those, so `echo $(( $1 * 2 ))` returns 10, not
#          "10"; any other output is a JSON string;
#   string always a JSON string;
#   json   the output is JSON, sent as it is (compacted); output that is not
#          valid JSON fails the task;
#   lines  a JSON array of strings, one per line.
#
# A non-zero status fails the task with task_failed: type "ExitStatus", a
# message naming the function and status (and its last line on stderr), and
# its stderr as the traceback. A task's stderr is written to the worker's
# stderr, which the supervisor logs, once it has ended.
#
# The task's raw JSON arguments are in the array CORRAL_ARGS_JSON, its keyword
# arguments in the associative array CORRAL_KWARGS (text, as arguments) and
# CORRAL_KWARGS_JSON (the object), its id in CORRAL_TASK and the function in
# CORRAL_FN.

_CORRAL_NUM='?(-)@(0|[1-9]*([0-9]))?(.+([0-9]))?([eE]?([+-])+([0-9]))'

corral_serve() {
	local _corral_eg=0
	shopt -q extglob && _corral_eg=1
	shopt -s extglob
	# Not `_corral_serve || …`: that would make every command under it,
	# the tasks too, exempt from set -e.
	_corral_serve "$@"
	local _corral_rc=$?
	((_corral_eg)) || shopt -u extglob
	return "$_corral_rc"
}

_corral_serve() {
	local _corral_name=${0##*/} _corral_spec _corral_fn _corral_mode
	local -a _corral_fns=()
	local -A _corral_modes=()
	while (($#)); do
		case $1 in
		--name)
			_corral_name=${2-}
			shift 2 || shift $#
			;;
		--name=*)
			_corral_name=${1#--name=}
			shift
			;;
		--)
			shift
			break
			;;
		-*)
			printf '%s\n' "corral_serve: unknown flag $1 (usage: corral_serve [--name NAME] FN[:MODE]…)" >&2
			return 2
			;;
		*) break ;;
		esac
	done
	if (($# == 0)); then
		printf '%s\n' "usage: corral_serve [--name NAME] FN[:MODE]… (MODE: auto, string, json or lines)" >&2
		return 2
	fi
	for _corral_spec in "$@"; do
		_corral_fn=${_corral_spec%%:*} _corral_mode=auto
		[[ $_corral_spec == *:* ]] && _corral_mode=${_corral_spec#*:}
		case $_corral_mode in
		auto | string | json | lines) ;;
		*)
			printf '%s\n' "corral_serve: $_corral_spec: unknown result mode '$_corral_mode' (want auto, string, json or lines)" >&2
			return 2
			;;
		esac
		if [[ -z $_corral_fn ]] || ! type -t -- "$_corral_fn" >/dev/null; then
			printf '%s\n' "corral_serve: '$_corral_fn' is not a function or command; define it before calling corral_serve" >&2
			return 2
		fi
		[[ -v _corral_modes[$_corral_fn] ]] || _corral_fns+=("$_corral_fn")
		_corral_modes[$_corral_fn]=$_corral_mode
	done

	local _corral_in=0 _corral_out=1
	if [[ ${CORRAL_PROTOCOL_FDS-} == +([0-9]),+([0-9]) ]]; then
		_corral_in=${CORRAL_PROTOCOL_FDS%,*} _corral_out=${CORRAL_PROTOCOL_FDS#*,}
	fi
	if [[ -t $_corral_in && -z ${CORRAL_WORKER_ID-} && -z ${CORRAL_PROTOCOL_FDS-} ]]; then
		printf '%s\n' "corral_serve: ${_corral_name} is a corral worker that speaks JSON-RPC on stdin/stdout, so rather than running it by hand, put it in a pool (corral serve, or a client's CreatePool) or test it with 'corral check-worker -- bash $0'." >&2
		return 2
	fi

	# The caller's options, for the tasks; the loop runs without -e and -u,
	# and with -f (its word splitting must never glob).
	local _corral_opts=$- _corral_pipefail='' _corral_ifs_set='' _corral_ifs=''
	shopt -qo pipefail && _corral_pipefail=1
	[[ -v IFS ]] && _corral_ifs_set=1 _corral_ifs=$IFS
	local -
	set +e +u -f

	# Tasks' stderr goes to a file that has no name from the start, so that
	# nothing is left behind however the worker ends (SIGKILL included):
	# appended to through _corral_errw, read back through _corral_errr.
	local _corral_errf _corral_errw _corral_errr
	_corral_errf=$(mktemp "${TMPDIR:-/tmp}/corral-sh.XXXXXX") || {
		printf '%s\n' "corral_serve: cannot make a temporary file" >&2
		return 1
	}
	exec {_corral_errw}>>"$_corral_errf" {_corral_errr}<"$_corral_errf"
	rm -f -- "$_corral_errf"

	local _corral_functions='' _CORRAL_Q
	for _corral_fn in "${_corral_fns[@]}"; do
		_corral_quote "$_corral_fn"
		_corral_functions+=${_corral_functions:+,}$_CORRAL_Q
	done
	_corral_quote "$_corral_name"
	# Tasks run one at a time, in the order they come: in_order lets the
	# supervisor send the next ahead (spec §7.1).
	local _corral_hello="{\"protocol\":\"corral/1\",\"role\":\"worker\",\"name\":$_CORRAL_Q,\"functions\":[$_corral_functions],\"batch\":true,\"in_order\":true}"

	local _CORRAL_SKEL _CORRAL_S _CORRAL_J _CORRAL_U8 _corral_line _corral_id _corral_ready=0
	local -a _CORRAL_STRS _CORRAL_ELEMS
	local -A _CORRAL_MSG _CORRAL_PARAMS
	while IFS= read -r -u "$_corral_in" _corral_line || [[ -n $_corral_line ]]; do
		_corral_handle "$_corral_line"
	done
	exec {_corral_errw}>&- {_corral_errr}<&-
	return 0
}

_corral_send() { printf '%s\n' "$1" >&"$_corral_out"; }
_corral_result() { _corral_send "{\"jsonrpc\":\"2.0\",\"id\":$_corral_id,\"result\":$1}"; }
# _corral_error CODE MESSAGE [DATA]: MESSAGE is text, DATA JSON.
_corral_error() {
	_corral_quote "$2"
	_corral_send "{\"jsonrpc\":\"2.0\",\"id\":$_corral_id,\"error\":{\"code\":$1,\"message\":$_CORRAL_Q${3:+,\"data\":$3}}}"
}

_corral_handle() {
	local _corral_l=${1%$'\r'} _corral_method
	[[ $_corral_l == *[![:space:]]* ]] || return 0 # blank lines are not messages
	_corral_id=null
	if ! _corral_mask "$_corral_l"; then
		_corral_error -32700 'parse error: the line is not valid JSON'
		return 0
	fi
	if ! _corral_members "$_CORRAL_SKEL" _CORRAL_MSG; then
		if [[ $_CORRAL_SKEL == @(\[*\]|[-0-9]*|true|false|null|@+([0-9])) ]]; then
			_corral_error -32600 'invalid request: a message must be one JSON object (batches are not accepted)'
		else
			_corral_error -32700 'parse error: the line is not valid JSON'
		fi
		return 0
	fi
	if [[ -v _CORRAL_MSG[id] ]]; then
		_corral_id=${_CORRAL_MSG[id]}
		if [[ $_corral_id == @+([0-9]) ]]; then
			_corral_id="\"${_CORRAL_STRS[${_corral_id:1}]}\""
		elif [[ $_corral_id != @([-0-9]*([-+.eE0-9])|null) ]]; then
			_corral_id=null
			_corral_error -32600 'invalid request: id must be a string or a number'
			return 0
		fi
	fi
	if [[ ${_CORRAL_MSG[method]-} != @+([0-9]) ]]; then
		# A response to a call of ours; this loop makes none.
		[[ -v _CORRAL_MSG[result] || -v _CORRAL_MSG[error] ]] && return 0
		_corral_error -32600 'invalid request: "method" is required and must be a string'
		return 0
	fi
	_corral_method=${_CORRAL_STRS[${_CORRAL_MSG[method]:1}]}
	if [[ ${_CORRAL_MSG[jsonrpc]-} != @+([0-9]) || ${_CORRAL_STRS[${_CORRAL_MSG[jsonrpc]:1}]} != 2.0 ]]; then
		[[ -v _CORRAL_MSG[id] ]] && _corral_error -32600 'invalid request: "jsonrpc" must be "2.0"'
		return 0
	fi
	[[ -v _CORRAL_MSG[id] ]] || return 0 # a notification: nothing to say, whatever it asked
	if [[ $_corral_method != corral.hello ]] && ((!_corral_ready)); then
		_corral_error -32001 "not initialized: corral.hello must come first (got $_corral_method)"
		return 0
	fi
	case $_corral_method in
	corral.hello) _corral_hello ;;
	task.run) _corral_task_run ;;
	task.map) _corral_task_map ;;
	*) _corral_error -32601 "method not found: $_corral_method" ;;
	esac
	return 0
}

_corral_hello() {
	if ! _corral_members "${_CORRAL_MSG[params]-}" _CORRAL_PARAMS; then
		_corral_error -32602 'invalid params: "params" must be an object'
	elif [[ ${_CORRAL_PARAMS[protocol]-} != @+([0-9]) ]]; then
		_corral_error -32602 'invalid params: "protocol" is required and must be a string (this worker speaks "corral/1")'
	elif [[ ${_CORRAL_STRS[${_CORRAL_PARAMS[protocol]:1}]} != corral/1 ]]; then
		local _corral_v=${_CORRAL_STRS[${_CORRAL_PARAMS[protocol]:1}]}
		printf '%s\n' "corral_serve: the supervisor speaks \"$_corral_v\", corral.sh speaks \"corral/1\"" >&2
		_corral_error -32002 "protocol version mismatch: the supervisor speaks \"$_corral_v\", $_corral_name speaks \"corral/1\"; run it under a corral release that speaks corral/1" '{"supported":["corral/1"]}'
	else
		_corral_ready=1
		_corral_result "$_corral_hello"
	fi
}

# _corral_task_params: the checks task.run and task.map share; sets
# _corral_fn, or answers and fails.
_corral_task_params() {
	if ! _corral_members "${_CORRAL_MSG[params]-}" _CORRAL_PARAMS; then
		_corral_error -32602 'invalid params: "params" must be an object'
		return 1
	fi
	if [[ ${_CORRAL_PARAMS[fn]-} != @+([0-9]) ]] || ! _corral_unescape "${_CORRAL_STRS[${_CORRAL_PARAMS[fn]:1}]}"; then
		_corral_error -32602 'invalid params: "fn" is required and must be a string'
		return 1
	fi
	_corral_fn=$_CORRAL_S
	CORRAL_TASK=''
	if [[ ${_CORRAL_PARAMS[task]-} == @+([0-9]) ]] && _corral_unescape "${_CORRAL_STRS[${_CORRAL_PARAMS[task]:1}]}"; then
		CORRAL_TASK=$_CORRAL_S
	fi
	return 0
}

# _corral_known: answers unknown_function unless _corral_fn is served here.
_corral_known() {
	[[ -n $_corral_fn && -v _corral_modes[$_corral_fn] ]] && return 0
	local IFS=,
	_corral_error 1014 "unknown function: \"$_corral_fn\" ($_corral_name serves ${_corral_fns[*]})"
	return 1
}

# _corral_args ELEMENT…: sets _corral_argv (texts) and CORRAL_ARGS_JSON; fails
# (with _corral_etype and _corral_emsg) on a string bash cannot hold.
_corral_args() {
	local _corral_e
	_corral_argv=() CORRAL_ARGS_JSON=()
	for _corral_e in "$@"; do
		if ! _corral_text "$_corral_e"; then
			_corral_etype=ValueError _corral_emsg="argument $((${#_corral_argv[@]} + 1)) of $_corral_fn holds a NUL character (\\u0000) or a bad escape, which a bash argument cannot carry"
			return 1
		fi
		_corral_argv+=("$_CORRAL_S")
		CORRAL_ARGS_JSON+=("$_CORRAL_J")
	done
}

# _corral_kwargs SKELETON: sets CORRAL_KWARGS and CORRAL_KWARGS_JSON.
_corral_kwargs() {
	local -A _corral_kw=()
	local _corral_k
	CORRAL_KWARGS=()
	_corral_unmask "$1"
	CORRAL_KWARGS_JSON=$_CORRAL_J
	_corral_members "$1" _corral_kw || return 1
	for _corral_k in "${!_corral_kw[@]}"; do
		_corral_unescape "$_corral_k" || return 1
		local _corral_key=$_CORRAL_S
		_corral_text "${_corral_kw[$_corral_k]}" || return 1
		CORRAL_KWARGS[$_corral_key]=$_CORRAL_S
	done
}

# _corral_call: runs _corral_fn with _corral_argv; sets _corral_res (JSON), or
# _corral_etype, _corral_emsg and _corral_etb and fails.
_corral_call() {
	local _corral_raw _corral_st=0 _corral_err='' _corral_tail='' _corral_last _corral_chunk=''
	local CORRAL_FN=$_corral_fn
	_corral_raw=$(
		if [[ $_corral_opts == *e* ]]; then set -e; fi
		if [[ $_corral_opts == *u* ]]; then set -u; fi
		if [[ $_corral_opts != *f* ]]; then set +f; fi
		if [[ -n $_corral_pipefail ]]; then set -o pipefail; fi
		if [[ -n $_corral_ifs_set ]]; then IFS=$_corral_ifs; else unset IFS; fi
		if ((_corral_in > 2 || _corral_out > 2)); then
			exec {_corral_in}<&- {_corral_out}>&-
		fi
		exec 2>&"$_corral_errw" {_corral_errw}>&- {_corral_errr}<&-
		"$_corral_fn" ${_corral_argv[@]+"${_corral_argv[@]}"} </dev/null
		_corral_st=$?
		printf '%s' "$_CORRAL_END"
		exit "$_corral_st"
	)
	_corral_st=$?
	# All of the task's stderr to the log; the first 64 KiB for a traceback,
	# and the last line for the message.
	while IFS= read -r -d '' -N 65536 -u "$_corral_errr" _corral_chunk || [[ -n $_corral_chunk ]]; do
		printf '%s' "$_corral_chunk" >&2
		[[ -n $_corral_err ]] || _corral_err=$_corral_chunk
		_corral_tail=$_corral_chunk
		_corral_chunk=''
	done
	if [[ -n $_corral_err ]]; then
		[[ $_corral_tail == *$'\n' ]] || printf '\n' >&2
		if [[ $OSTYPE == linux* ]]; then
			# Empty the file (Linux reopens it through /dev/fd), and read it
			# from the start again.
			: >"/dev/fd/$_corral_errw"
			exec {_corral_errr}<&-
			exec {_corral_errr}<"/dev/fd/$_corral_errw"
		fi
	fi
	if ((_corral_st != 0)); then
		_corral_last=${_corral_tail%%+($'\n')}
		_corral_last=${_corral_last##*$'\n'}
		_corral_etype=ExitStatus
		_corral_emsg="$_corral_fn exited with status $_corral_st${_corral_last:+: ${_corral_last:0:1000}}"
		_corral_etb=$_corral_err
		return 1
	fi
	if [[ $_corral_raw == *"$_CORRAL_END" ]]; then
		_corral_raw=${_corral_raw%"$_CORRAL_END"}
		_corral_raw=${_corral_raw%$'\n'}
	fi
	case ${_corral_modes[$_corral_fn]} in
	auto)
		if [[ ${#_corral_raw} -le 400 && $_corral_raw == @($_CORRAL_NUM|true|false|null) ]]; then
			_corral_res=$_corral_raw
		else
			_corral_quote "$_corral_raw"
			_corral_res=$_CORRAL_Q
		fi
		;;
	string)
		_corral_quote "$_corral_raw"
		_corral_res=$_CORRAL_Q
		;;
	json)
		local -a _CORRAL_STRS
		local _CORRAL_SKEL _CORRAL_J
		if ! _corral_valid "$_corral_raw"; then
			_corral_quote "${_corral_raw:0:200}"
			_corral_etype=ValueError _corral_emsg="$_corral_fn printed output that is not one JSON value (result mode json): ${_CORRAL_Q}" _corral_etb=''
			return 1
		fi
		_corral_res=$_CORRAL_J
		if [[ $_corral_res == *[![:ascii:]]* ]]; then
			local _CORRAL_S
			_corral_utf8_repair "$_corral_res"
			_corral_res=$_CORRAL_S
		fi
		;;
	lines)
		local _corral_l _corral_acc=''
		if [[ -n $_corral_raw ]]; then
			_corral_raw+=$'\n'
			while [[ -n $_corral_raw ]]; do
				_corral_l=${_corral_raw%%$'\n'*}
				_corral_raw=${_corral_raw#*$'\n'}
				_corral_quote "$_corral_l"
				_corral_acc+=${_corral_acc:+,}$_CORRAL_Q
			done
		fi
		_corral_res="[$_corral_acc]"
		;;
	esac
	return 0
}

# _corral_failed [INDEX]: answers task_failed for _corral_etype, _corral_emsg
# and _corral_etb.
_corral_failed() {
	local _corral_d
	_corral_quote "$_corral_etype"
	_corral_d="{\"type\":$_CORRAL_Q"
	_corral_quote "$_corral_emsg"
	_corral_d+=",\"message\":$_CORRAL_Q"
	_corral_quote "${_corral_etb:-$_corral_etype: $_corral_emsg}"
	_corral_d+=",\"traceback\":$_CORRAL_Q${1:+,\"index\":$1}}"
	_corral_error 1010 "$_corral_etype: $_corral_emsg" "$_corral_d"
}

_corral_task_run() {
	local _corral_fn _corral_res _corral_etype _corral_emsg _corral_etb=''
	local -a _corral_argv=() CORRAL_ARGS_JSON=()
	local -A CORRAL_KWARGS=()
	local CORRAL_KWARGS_JSON='{}' CORRAL_TASK
	_corral_task_params || return 0
	if [[ -v _CORRAL_PARAMS[args] && ${_CORRAL_PARAMS[args]} != null ]]; then
		if [[ ${_CORRAL_PARAMS[args]} != \[*\] ]] || ! _corral_split "${_CORRAL_PARAMS[args]:1:${#_CORRAL_PARAMS[args]}-2}"; then
			_corral_error -32602 'invalid params: "args" must be an array'
			return 0
		fi
	else
		_CORRAL_ELEMS=()
	fi
	local -a _corral_elems=(${_CORRAL_ELEMS[@]+"${_CORRAL_ELEMS[@]}"})
	if [[ -v _CORRAL_PARAMS[kwargs] && ${_CORRAL_PARAMS[kwargs]} != null ]]; then
		if [[ ${_CORRAL_PARAMS[kwargs]} != \{*\} ]] || ! _corral_kwargs "${_CORRAL_PARAMS[kwargs]}"; then
			_corral_error -32602 'invalid params: "kwargs" must be an object'
			return 0
		fi
	fi
	_corral_known || return 0
	# _corral_call runs outside any condition, so that set -e holds in the task.
	local _corral_st=0
	_corral_args ${_corral_elems[@]+"${_corral_elems[@]}"} || _corral_st=$?
	if ((_corral_st == 0)); then
		_corral_call
		_corral_st=$?
	fi
	if ((_corral_st == 0)); then
		_corral_result "$_corral_res"
	else
		_corral_failed
	fi
}

_corral_task_map() {
	local _corral_fn _corral_res _corral_etype _corral_emsg _corral_etb='' _corral_item _corral_star _corral_st
	local -a _corral_argv=() CORRAL_ARGS_JSON=() _corral_items _corral_results=()
	local -A CORRAL_KWARGS=()
	local CORRAL_KWARGS_JSON='{}' CORRAL_TASK
	local -i _corral_i=0
	_corral_task_params || return 0
	if [[ ${_CORRAL_PARAMS[items]-} != \[*\] ]] || ! _corral_split "${_CORRAL_PARAMS[items]:1:${#_CORRAL_PARAMS[items]}-2}"; then
		_corral_error -32602 'invalid params: "items" must be an array'
		return 0
	fi
	_corral_items=(${_CORRAL_ELEMS[@]+"${_CORRAL_ELEMS[@]}"})
	_corral_star=${_CORRAL_PARAMS[star]-false}
	if [[ $_corral_star != @(true|false|null) ]]; then
		_corral_error -32602 'invalid params: "star" must be true or false'
		return 0
	fi
	_corral_known || return 0
	for _corral_item in ${_corral_items[@]+"${_corral_items[@]}"}; do
		if [[ $_corral_star == true ]]; then
			if [[ $_corral_item != \[*\] ]] || ! _corral_split "${_corral_item:1:${#_corral_item}-2}"; then
				_corral_etype=TypeError _corral_emsg='with star, each item must be an array of arguments' _corral_etb=''
				_corral_failed "$_corral_i"
				return 0
			fi
		else
			_CORRAL_ELEMS=("$_corral_item")
		fi
		_corral_st=0
		_corral_args ${_CORRAL_ELEMS[@]+"${_CORRAL_ELEMS[@]}"} || _corral_st=$?
		if ((_corral_st == 0)); then
			_corral_call
			_corral_st=$?
		fi
		if ((_corral_st != 0)); then
			_corral_failed "$_corral_i"
			return 0
		fi
		_corral_results+=("$_corral_res")
		_corral_i+=1
	done
	local IFS=,
	_corral_result "[${_corral_results[*]}]"
}

((_CORRAL_EXTGLOB)) || shopt -u extglob
unset _CORRAL_EXTGLOB
