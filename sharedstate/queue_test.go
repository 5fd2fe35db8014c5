package sharedstate

import (
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"
)

func put(t *testing.T, q Queue, item string, w Wait) error {
	t.Helper()
	ch, done := cbErr(t)
	q.Put(raw(item), w, done)
	return now(t, ch).err
}

func get(t *testing.T, q Queue, w Wait) (string, error) {
	t.Helper()
	ch, done := cb[json.RawMessage](t)
	q.Get(w, done)
	r := now(t, ch)
	return string(r.v), r.err
}

// As test_queue in _test_multiprocessing: FIFO, qsize, empty/full, nowait
// errors, and timed get/put raising Empty/Full after the timeout.
func TestQueueBasics(t *testing.T) {
	q := create[Queue](t, KindQueue, "q", Params{Maxsize: 3})
	if !q.Empty() || q.Full() || q.Qsize() != 0 {
		t.Fatal("new queue not empty")
	}
	for i := 1; i <= 3; i++ {
		noErr(t, put(t, q, strconv.Itoa(i), nowait(o1)))
	}
	if !q.Full() || q.Qsize() != 3 {
		t.Fatalf("full=%v qsize=%d", q.Full(), q.Qsize())
	}
	wantErr(t, put(t, q, "4", nowait(o1)), ErrFull)
	for i := 1; i <= 3; i++ {
		v, err := get(t, q, nowait(o1))
		noErr(t, err)
		if v != strconv.Itoa(i) {
			t.Fatalf("got %s; want %d", v, i)
		}
	}
	_, err := get(t, q, nowait(o1))
	wantErr(t, err, ErrEmpty)
	ch, done := cbErr(t)
	q.Put(raw("not json"), nowait(o1), done)
	wantErr(t, now(t, ch).err, ErrType)
	ch, done = cbErr(t)
	q.Put(raw("1"), block(o1, -time.Second), done)
	wantErr(t, now(t, ch).err, ErrValue)
}

func TestQueueTimeouts(t *testing.T) {
	q := create[Queue](t, KindQueue, "q", Params{Maxsize: 1})
	for _, d := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond} {
		start := time.Now()
		ch, done := cb[json.RawMessage](t)
		q.Get(block(o1, d), done)
		wantErr(t, got(t, ch).err, ErrEmpty)
		within(t, start, d)
	}
	noErr(t, put(t, q, "1", nowait(o1)))
	start := time.Now()
	ch, done := cbErr(t)
	q.Put(raw("2"), block(o1, 50*time.Millisecond), done)
	wantErr(t, got(t, ch).err, ErrFull)
	within(t, start, 50*time.Millisecond)
	if q.Qsize() != 1 {
		t.Fatalf("timed-out put left qsize %d", q.Qsize())
	}
}

func TestQueueBlockingHandOff(t *testing.T) {
	q := create[Queue](t, KindQueue, "q", Params{Maxsize: 1})
	gch, gdone := cb[json.RawMessage](t)
	q.Get(block(o1, 0), gdone)
	pending(t, gch, 20*time.Millisecond)
	noErr(t, put(t, q, `"x"`, nowait(o2)))
	if r := now(t, gch); string(r.v) != `"x"` || r.err != nil {
		t.Fatalf("getter got %s, %v", r.v, r.err)
	}
	// A parked putter's item takes the slot a get frees, in order.
	noErr(t, put(t, q, "1", nowait(o1)))
	pch, pdone := cbErr(t)
	q.Put(raw("2"), block(o2, 0), pdone)
	pending(t, pch, 20*time.Millisecond)
	v, _ := get(t, q, nowait(o1))
	noErr(t, now(t, pch).err)
	v2, _ := get(t, q, nowait(o1))
	if v != "1" || v2 != "2" {
		t.Fatalf("got %s, %s", v, v2)
	}
}

// Many parked getters are served in arrival order.
func TestQueueFairness(t *testing.T) {
	q := create[Queue](t, KindQueue, "q", Params{})
	const n = 50
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		q.Get(block(Owner{ID: uint64(i)}, 0), func(item json.RawMessage, err error) {
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			if string(item) != strconv.Itoa(i) {
				t.Errorf("getter %d got %s", i, item)
			}
			wg.Done()
		})
	}
	for i := 0; i < n; i++ {
		noErr(t, put(t, q, strconv.Itoa(i), nowait(o1)))
	}
	wg.Wait()
	if !sort.IntsAreSorted(order) {
		t.Fatalf("served out of order: %v", order)
	}
}

// Many goroutines put and get concurrently: nothing lost, nothing duplicated.
func TestQueueConcurrentFIFO(t *testing.T) {
	for _, maxsize := range []int{0, 4} {
		t.Run(fmt.Sprint("maxsize", maxsize), func(t *testing.T) {
			q := create[Queue](t, KindQueue, "q", Params{Maxsize: maxsize})
			const producers, each = 8, 2000
			seen := make(chan string, producers*each)
			var wg sync.WaitGroup
			for p := 0; p < producers; p++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						done := make(chan error, 1)
						q.Put(raw(fmt.Sprintf(`"%d-%d"`, p, i)), block(Owner{ID: uint64(p)}, 0), func(err error) { done <- err })
						if err := <-done; err != nil {
							t.Error(err)
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						done := make(chan json.RawMessage, 1)
						q.Get(block(Owner{ID: uint64(100 + p)}, 0), func(v json.RawMessage, err error) {
							if err != nil {
								t.Error(err)
							}
							done <- v
						})
						seen <- string(<-done)
					}
				}()
			}
			wg.Wait()
			close(seen)
			count := map[string]bool{}
			for v := range seen {
				if count[v] {
					t.Fatalf("duplicate %s", v)
				}
				count[v] = true
			}
			if len(count) != producers*each || q.Qsize() != 0 {
				t.Fatalf("got %d distinct items, qsize %d", len(count), q.Qsize())
			}
		})
	}
}

// Each producer's items come out in its own order (single consumer).
func TestQueuePerProducerOrder(t *testing.T) {
	q := create[Queue](t, KindQueue, "q", Params{Maxsize: 8})
	const producers, each = 4, 1000
	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				done := make(chan struct{})
				q.Put(raw(fmt.Sprintf("[%d,%d]", p, i)), block(o1, 0), func(error) { close(done) })
				<-done
			}
		}()
	}
	next := make([]int, producers)
	for k := 0; k < producers*each; k++ {
		done := make(chan json.RawMessage, 1)
		q.Get(block(o2, 0), func(v json.RawMessage, err error) { done <- v })
		var pi [2]int
		noErr(t, json.Unmarshal(<-done, &pi))
		if pi[1] != next[pi[0]] {
			t.Fatalf("producer %d: got %d, want %d", pi[0], pi[1], next[pi[0]])
		}
		next[pi[0]]++
	}
	wg.Wait()
}

func TestQueueClose(t *testing.T) {
	q := create[Queue](t, KindQueue, "q", Params{Maxsize: 1})
	gch, gdone := cb[json.RawMessage](t)
	q.Get(block(o1, 0), gdone)
	q.Close()
	wantErr(t, now(t, gch).err, ErrClosed)

	q2 := create[Queue](t, KindQueue, "q2", Params{Maxsize: 1})
	noErr(t, put(t, q2, "1", nowait(o1)))
	pch, pdone := cbErr(t)
	q2.Put(raw("2"), block(o1, 0), pdone)
	q2.Close()
	wantErr(t, now(t, pch).err, ErrClosed)
	wantErr(t, put(t, q2, "3", nowait(o1)), ErrClosed)
	v, err := get(t, q2, nowait(o1)) // drains what is left
	if err != nil || v != "1" {
		t.Fatalf("got %s, %v", v, err)
	}
	_, err = get(t, q2, block(o1, 0))
	wantErr(t, err, ErrClosed)
}

// As test_task_done / join in _test_multiprocessing.
func TestJoinableQueue(t *testing.T) {
	q := create[JoinableQueue](t, KindJoinableQueue, "jq", Params{})
	wantErr(t, q.TaskDone(), ErrValue)
	jch, jdone := cbErr(t)
	q.Join(block(o1, 0), jdone)
	noErr(t, now(t, jch).err) // nothing unfinished
	for i := 0; i < 3; i++ {
		noErr(t, put(t, q, "1", nowait(o1)))
	}
	jch, jdone = cbErr(t)
	q.Join(block(o1, 0), jdone)
	for i := 0; i < 3; i++ {
		get(t, q, nowait(o2))
		pending(t, jch, 5*time.Millisecond)
		noErr(t, q.TaskDone())
	}
	noErr(t, got(t, jch).err)
	wantErr(t, q.TaskDone(), ErrValue)

	noErr(t, put(t, q, "1", nowait(o1)))
	start := time.Now()
	jch, jdone = cbErr(t)
	q.Join(block(o1, 30*time.Millisecond), jdone)
	wantErr(t, got(t, jch).err, ErrTimeout)
	within(t, start, 30*time.Millisecond)

	plain := create[Queue](t, KindQueue, "q", Params{})
	wantErr(t, plain.(JoinableQueue).TaskDone(), ErrWrongKind)
}

// cancel() before the answer means the callback never runs; the item a
// cancelled getter would have had goes to the next getter.
func TestQueueCancel(t *testing.T) {
	q := create[Queue](t, KindQueue, "q", Params{})
	ch1, d1 := cb[json.RawMessage](t)
	cancel := q.Get(block(o1, 20*time.Millisecond), d1)
	ch2, d2 := cb[json.RawMessage](t)
	q.Get(block(o2, 0), d2)
	cancel()
	noErr(t, put(t, q, "7", nowait(o3)))
	if r := now(t, ch2); string(r.v) != "7" {
		t.Fatalf("second getter got %s", r.v)
	}
	pending(t, ch1, 60*time.Millisecond) // not even its timer fires
}
