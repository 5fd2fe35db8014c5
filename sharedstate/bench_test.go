package sharedstate

import (
	"sync/atomic"
	"testing"

	json "github.com/segmentio/encoding/json"
)

// BenchmarkQueuePutGet measures one put plus one get, in process.
func BenchmarkQueuePutGet(b *testing.B) {
	q := create[Queue](b, KindQueue, "q", Params{})
	item := raw(`{"task":42}`)
	putDone := func(error) {}
	getDone := func(json.RawMessage, error) {}
	b.ReportAllocs()
	for b.Loop() {
		q.Put(item, nowait(o1), putDone)
		q.Get(nowait(o1), getDone)
	}
}

// BenchmarkQueueHandOff measures a parked get completed by a put.
func BenchmarkQueueHandOff(b *testing.B) {
	q := create[Queue](b, KindQueue, "q", Params{})
	item := raw(`1`)
	putDone := func(error) {}
	getDone := func(json.RawMessage, error) {}
	b.ReportAllocs()
	for b.Loop() {
		q.Get(block(o1, 0), getDone)
		q.Put(item, nowait(o2), putDone)
	}
}

// BenchmarkLockAcquireRelease measures one acquire plus one release.
func BenchmarkLockAcquireRelease(b *testing.B) {
	l := create[Lock](b, KindLock, "l", Params{})
	done := func(bool, error) {}
	b.ReportAllocs()
	for b.Loop() {
		l.Acquire(block(o1, 0), done)
		l.Release(o1)
	}
}

// BenchmarkLockContended measures acquire+release pairs from parallel
// goroutines, each its own owner, with waiters parking and being handed
// the lock.
func BenchmarkLockContended(b *testing.B) {
	l := create[Lock](b, KindLock, "l", Params{})
	var id atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		o := Owner{ID: id.Add(1)}
		ch := make(chan struct{}, 1)
		done := func(bool, error) { ch <- struct{}{} }
		for pb.Next() {
			l.Acquire(block(o, 0), done)
			<-ch
			l.Release(o)
		}
	})
}

// BenchmarkValueAdd measures atomic adds.
func BenchmarkValueAdd(b *testing.B) {
	v := create[Value](b, KindValue, "v", Params{Typecode: "q"})
	one := raw("1")
	b.ReportAllocs()
	for b.Loop() {
		v.Add(one)
	}
}
