#!/usr/bin/env bash
# Every shared-object function of corral.sh against a live supervisor
# ($CORRAL_SOCKET), under set -euo pipefail, checking output and status.
set -euo pipefail
. "${BASH_SOURCE[0]%/*}/lib.sh"

# Queues: output is JSON; 1 for empty, full and timeouts.
corral_queue_put jobs '"a job"'
corral_queue_put jobs '{"n": 1}' --timeout 1
corral_queue_put_nowait jobs -3
eq "$(corral_queue_qsize jobs)" 3 "queue qsize"
eq "$(corral_queue_get jobs)" '"a job"' "queue get"
eq "$(corral_queue_get jobs --timeout 1)" '{"n":1}' "queue get --timeout"
eq "$(corral_queue_get_nowait jobs)" -3 "queue get_nowait"
status 1 corral_queue_get jobs --timeout 0.05
status 1 corral_queue_get jobs --no-block
status 1 corral_queue_get_nowait jobs
if corral_queue_get jobs --timeout 0.05 2>/dev/null; then fail "get of an empty queue succeeded"; fi
corral_queue_empty jobs || fail "queue empty: want true"
status 1 corral_queue_full jobs
eq "$(corral_queue_empty jobs)" "" "a predicate prints nothing"
eq "$(corral_object_create queue small '{"maxsize":1}')" '{"kind":"queue","name":"small"}' "object create"
corral_queue_put small 1
status 1 corral_queue_put small 2 --timeout 0.05
status 1 corral_queue_put small 2 --no-block
status 1 corral_queue_put_nowait small 2
corral_queue_full small || fail "queue full: want true"
status 1 corral_queue_empty small
corral_queue_close small
status 3 corral_queue_put small 3
corral_object_create joinablequeue jq >/dev/null
corral_queue_put jq '"w"'
status 1 corral_queue_join jq --timeout 0.05
eq "$(corral_queue_get jq)" '"w"' "joinablequeue get"
corral_queue_task_done jq
corral_queue_join jq --timeout 1
status 3 corral_queue_task_done jq

# Events.
status 1 corral_event_is_set go
status 1 corral_event_wait go --timeout 0.05
corral_event_set go
corral_event_is_set go || fail "event is_set: want true"
corral_event_wait go --timeout 1
corral_event_wait go
corral_event_clear go
status 1 corral_event_is_set go

# Barriers: two parties, one in the background.
corral_object_create barrier start '{"parties":2}' >/dev/null
eq "$(corral_barrier_parties start)" 2 "barrier parties"
corral_barrier_wait start --timeout 5 >/dev/null &
bg=$!
got=$(corral_barrier_wait start --timeout 5)
wait "$bg"
[[ $got == [01] ]] || fail "barrier wait: got [$got], want 0 or 1"
eq "$(corral_barrier_n_waiting start)" 0 "barrier n_waiting"
status 1 corral_barrier_broken start
corral_barrier_abort start
corral_barrier_broken start || fail "barrier broken after abort: want true"
status 3 corral_barrier_wait start --timeout 1
corral_barrier_reset start
status 1 corral_barrier_broken start

# Typed values.
corral_object_create value counter '{"typecode":"i"}' >/dev/null
eq "$(corral_value_set counter 5)" 5 "value set"
eq "$(corral_value_add counter 2)" 7 "value add"
eq "$(corral_value_get counter)" 7 "value get"
corral_value_compare_and_swap counter 7 10 || fail "compare_and_swap 7 10: want true"
status 1 corral_value_compare_and_swap counter 7 11
eq "$(corral_value_get counter)" 10 "value after compare_and_swap"
status 3 corral_value_set counter '"text"'
status 3 corral_value_get nosuchvalue

# Typed arrays.
corral_object_create array arr '{"typecode":"i","size":4}' >/dev/null
eq "$(corral_array_len arr)" 4 "array len"
corral_array_set arr -1 9
corral_array_set_slice arr 0 2 '[1,2]'
eq "$(corral_array_get arr 1)" 2 "array get"
eq "$(corral_array_slice arr)" '[1,2,0,9]' "array slice"
eq "$(corral_array_slice arr 1 3)" '[2,0]' "array slice 1 3"
status 3 corral_array_get arr 4

# Dicts: keys are JSON too.
corral_dict_set cfg '"k"' 42
corral_dict_set cfg 1 '"one"'
eq "$(corral_dict_get cfg '"k"')" 42 "dict get"
eq "$(corral_dict_get cfg '"nope"' '"fallback"')" '"fallback"' "dict get default"
eq "$(corral_dict_get cfg '"nope"')" null "dict get of a missing key"
corral_dict_contains cfg 1 || fail "dict contains 1: want true"
status 1 corral_dict_contains cfg '"1"'
eq "$(corral_dict_len cfg)" 2 "dict len"
eq "$(corral_dict_keys cfg)" '["k",1]' "dict keys"
eq "$(corral_dict_values cfg)" '[42,"one"]' "dict values"
eq "$(corral_dict_items cfg)" '[["k",42],[1,"one"]]' "dict items"
corral_dict_update cfg '{"u":true}'
eq "$(corral_dict_setdefault cfg '"s"' '[1]')" '[1]' "dict setdefault"
eq "$(corral_dict_pop cfg '"s"')" '[1]' "dict pop"
eq "$(corral_dict_pop cfg '"s"' null)" null "dict pop default"
eq "$(corral_dict_popitem cfg)" '{"key":"u","value":true}' "dict popitem"
eq "$(corral_dict_copy cfg)" '[["k",42],[1,"one"]]' "dict copy"
corral_dict_delete cfg 1
status 3 corral_dict_delete cfg 1
corral_dict_clear cfg
eq "$(corral_dict_len cfg)" 0 "dict len after clear"

# Lists.
corral_list_append l '"b"'
corral_list_extend l '["c","a","c"]'
corral_list_insert l 0 '"z"'
eq "$(corral_list_len l)" 5 "list len"
eq "$(corral_list_get l 0)" '"z"' "list get"
corral_list_set l 0 '"y"'
eq "$(corral_list_slice l 1 3)" '["b","c"]' "list slice"
eq "$(corral_list_slice l 0 5 2)" '["y","c","c"]' "list slice with step"
eq "$(corral_list_index l '"c"')" 2 "list index"
eq "$(corral_list_count l '"c"')" 2 "list count"
corral_list_remove l '"y"'
status 3 corral_list_remove l '"y"'
corral_list_sort l
eq "$(corral_list_slice l)" '["a","b","c","c"]' "list after sort"
corral_list_reverse l
eq "$(corral_list_pop l)" '"a"' "list pop"
eq "$(corral_list_pop l 0)" '"c"' "list pop 0"
corral_list_delete l start=0 stop=1
eq "$(corral_list_slice l)" '["b"]' "list after delete"
corral_list_delete l 0
status 3 corral_list_pop l

# Namespaces.
corral_namespace_set ns '"x"' '{"deep":[1]}'
eq "$(corral_namespace_get ns '"x"')" '{"deep":[1]}' "namespace get"
eq "$(corral_namespace_attrs ns)" '{"x":{"deep":[1]}}' "namespace attrs"
corral_namespace_delete ns '"x"'
status 3 corral_namespace_get ns '"x"'

# Pipes: end 0 and end 1 of a duplex pipe.
corral_object_create pipe p >/dev/null
status 1 corral_pipe_poll p 0 --timeout 0.05
corral_pipe_send p 1 '"hi"'
corral_pipe_poll p 0 --timeout 1 || fail "pipe poll: want true"
eq "$(corral_pipe_recv p 0)" '"hi"' "pipe recv"
status 1 corral_pipe_recv p 0 --timeout 0.05
corral_pipe_close p 1
status 3 corral_pipe_recv p 0

# Objects.
corral_object_list | grep -q '"name":"cfg"' || fail "object list lacks cfg"
corral_object_delete cfg
if corral_object_list | grep -q '"name":"cfg"'; then fail "cfg still listed after delete"; fi
corral_status | grep -q 'jobs' || fail "status lacks the queue jobs"
eq "$(corral_ctl value get counter)" 10 "corral_ctl"

# Usage errors are 2; the supervisor's errors 3.
status 2 corral_queue_get
status 2 corral_queue_put jobs 'not json'
status 2 corral_queue_put jobs
status 2 corral_dict_get cfg '"k"' 1 2
status 3 corral_value_get jobs # a queue, not a value
(CORRAL_SOCKET=/nonexistent/socket && status 3 corral_queue_qsize jobs)
(unset CORRAL_SOCKET && status 3 corral_queue_qsize jobs)

# Finding the binary: CORRAL_BIN, else PATH.
(CORRAL_BIN=/nonexistent/corral && status 127 corral_queue_qsize jobs)
(
	bindir=${CORRAL_BIN%/*}
	unset CORRAL_BIN
	PATH=/nonexistent
	status 127 corral_queue_qsize jobs
	err=$(corral_queue_qsize jobs 2>&1) || :
	[[ $err == *"corral binary was not found"* ]] || fail "no binary: message [$err]"
	PATH=$bindir:/usr/bin:/bin
	eq "$(corral_queue_qsize jobs)" 0 "corral from PATH"
)

# Text to JSON strings and back, through a queue.
texts=('' 'plain' 'with space' 'q"uote' 'back\slash' $'new\nline\n' $'tab\there' $'\001\037ctl' 'é 😀 ☃' '-n' '$HOME' '\u0041')
for t in "${texts[@]}"; do
	corral_queue_put tq "$(corral_quote "$t")"
	corral_unquote -v back "$(corral_queue_get tq)"
	eq "$back" "$t" "quote/unquote round trip"
done
eq "$(corral_quote $'a\nb"c')" '"a\nb\"c"' "corral_quote"
eq "$(corral_quote $'\xffé\xe2\x98')" $'"\xef\xbf\xbdé\xef\xbf\xbd\xef\xbf\xbd"' "corral_quote of bytes that are not UTF-8"
corral_quote -v q 'x'
eq "$q" '"x"' "corral_quote -v"
eq "$(corral_unquote '"\u00e9\ud83d\ude00\t"')" $'é😀\t' "corral_unquote escapes"
eq "$(corral_unquote 42)" 42 "corral_unquote number"
eq "$(corral_unquote null)" "" "corral_unquote null"
eq "$(corral_unquote ' [1, "a b" , {"k": null}] ')" '[1,"a b",{"k":null}]' "corral_unquote array"
status 2 corral_unquote '{"a":'
status 2 corral_unquote '"\x"'
status 2 corral_unquote '"\u0000"'
status 2 corral_unquote '[1,]'
status 2 corral_unquote '01'
echo ok
