package sharedstate

import (
	"testing"
	"time"

	json "github.com/segmentio/encoding/json"
)

// For every parking operation: cancel() before the answer means the
// callback is never called, not by the event that would have answered it
// nor by its timer, and the cancelled waiter takes nothing.
func TestCancelNoCallback(t *testing.T) {
	const d = 20 * time.Millisecond
	tests := []struct {
		name string
		run  func(t *testing.T, s Store, fired func()) (cancel, trigger func())
	}{
		{"lock", func(t *testing.T, s Store, fired func()) (func(), func()) {
			l := createIn[Lock](t, s, KindLock, "x", Params{})
			acquire(t, l, nowait(o1))
			c := l.Acquire(block(o2, d), func(bool, error) { fired() })
			return c, func() {
				noErr(t, l.Release(o1))
				if l.Locked() {
					t.Error("lock given to a cancelled waiter")
				}
			}
		}},
		{"semaphore", func(t *testing.T, s Store, fired func()) (func(), func()) {
			m := createIn[Semaphore](t, s, KindSemaphore, "x", Params{Value: intp(0)})
			c := m.Acquire(block(o2, d), func(bool, error) { fired() })
			return c, func() {
				noErr(t, m.Release(o1))
				if m.Value() != 1 {
					t.Error("permit given to a cancelled waiter")
				}
			}
		}},
		{"event", func(t *testing.T, s Store, fired func()) (func(), func()) {
			e := createIn[Event](t, s, KindEvent, "x", Params{})
			return e.Wait(block(o2, d), func(bool, error) { fired() }), e.Set
		}},
		{"queue put", func(t *testing.T, s Store, fired func()) (func(), func()) {
			q := createIn[Queue](t, s, KindQueue, "x", Params{Maxsize: 1})
			q.Put(raw("1"), nowait(o1), func(error) {})
			c := q.Put(raw("2"), block(o2, d), func(error) { fired() })
			return c, func() {
				q.Get(nowait(o1), func(json.RawMessage, error) {})
				if q.Qsize() != 0 {
					t.Error("cancelled put's item was queued")
				}
			}
		}},
		{"join", func(t *testing.T, s Store, fired func()) (func(), func()) {
			q := createIn[JoinableQueue](t, s, KindJoinableQueue, "x", Params{})
			q.Put(raw("1"), nowait(o1), func(error) {})
			return q.Join(block(o2, d), func(error) { fired() }), func() { noErr(t, q.TaskDone()) }
		}},
		{"pipe recv", func(t *testing.T, s Store, fired func()) (func(), func()) {
			p := createIn[Pipe](t, s, KindPipe, "x", Params{})
			c := p.Recv(0, block(o2, d), func(json.RawMessage, error) { fired() })
			return c, func() { noErr(t, p.Send(1, raw("1"))) }
		}},
		{"pipe poll", func(t *testing.T, s Store, fired func()) (func(), func()) {
			p := createIn[Pipe](t, s, KindPipe, "x", Params{})
			c := p.Poll(0, block(o2, d), func(bool, error) { fired() })
			return c, func() { noErr(t, p.Close(1)) }
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, Options{})
			fired := make(chan struct{}, 1)
			cancel, trigger := tt.run(t, s, func() { fired <- struct{}{} })
			cancel()
			cancel() // idempotent
			trigger()
			select {
			case <-fired:
				t.Fatal("callback after cancel")
			case <-time.After(3 * d):
			}
		})
	}
}
