package sharedstate

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	o1 = Owner{ID: 1, Name: "w-1"}
	o2 = Owner{ID: 2, Name: "w-2"}
	o3 = Owner{ID: 3, Name: "w-3"}
)

// block is a blocking Wait for o with timeout d (0: forever).
func block(o Owner, d time.Duration) Wait { return Wait{Block: true, Timeout: d, Owner: o} }

// nowait is a non-blocking Wait for o.
func nowait(o Owner) Wait { return Wait{Owner: o} }

// result is one completion of a callback.
type result[T any] struct {
	v   T
	err error
}

// cb returns a callback that records completions on a channel and fails the
// test if it is called twice.
func cb[T any](t *testing.T) (<-chan result[T], func(T, error)) {
	t.Helper()
	ch := make(chan result[T], 1)
	var calls atomic.Int32
	return ch, func(v T, err error) {
		if calls.Add(1) > 1 {
			t.Errorf("callback called twice (second: %v, %v)", v, err)
			return
		}
		ch <- result[T]{v, err}
	}
}

// cbErr is cb for callbacks that take only an error.
func cbErr(t *testing.T) (<-chan result[struct{}], func(error)) {
	ch, f := cb[struct{}](t)
	return ch, func(err error) { f(struct{}{}, err) }
}

// got waits for a completion, failing after a generous deadline.
func got[T any](t *testing.T, ch <-chan result[T]) result[T] {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no completion within 5s")
	}
	panic("unreachable")
}

// now asserts a completion is already there (it was synchronous).
func now[T any](t *testing.T, ch <-chan result[T]) result[T] {
	t.Helper()
	select {
	case r := <-ch:
		return r
	default:
		t.Fatal("expected a synchronous completion")
	}
	panic("unreachable")
}

// pending asserts no completion arrives within d.
func pending[T any](t *testing.T, ch <-chan result[T], d time.Duration) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("unexpected completion: %v, %v", r.v, r.err)
	case <-time.After(d):
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v; want %v", err, want)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// within asserts an elapsed time is at least d and not much more: timeouts
// are honoured by timers, so 200ms of slack is for a loaded test machine.
func within(t *testing.T, start time.Time, d time.Duration) {
	t.Helper()
	el := time.Since(start)
	if el < d || el > d+200*time.Millisecond {
		t.Fatalf("took %v; want %v (+200ms)", el, d)
	}
}

func newStore(t testing.TB, opts Options) *MemStore {
	s := NewMemStore(opts)
	t.Cleanup(func() { s.Close() })
	return s
}

// create makes an object in a fresh auto-creating store and returns it as T.
func create[T Object](t testing.TB, kind Kind, name string, p Params) T {
	t.Helper()
	s := newStore(t, Options{AutoCreate: true})
	return createIn[T](t, s, kind, name, p)
}

func createIn[T Object](t testing.TB, s Store, kind Kind, name string, p Params) T {
	t.Helper()
	obj, err := s.Create(kind, name, p)
	if err != nil {
		t.Fatal(err)
	}
	return obj.(T)
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func intp(i int) *int { return &i }
