package sharedstate

import (
	"fmt"
	"sort"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/corralhq/corral/internal/jsonx"
	json "github.com/segmentio/encoding/json"
)

// Store holds named shared objects. The memory store is the default; a
// Redis store is to implement the same interface, which is why objects are
// reached through per-kind interfaces and carry no memory details.
//
// Names are one namespace across kinds: "jobs" is a queue or a lock, not
// both.
type Store interface {
	// Create makes an object, or returns the existing one of that name
	// when its kind and parameters are the same; another kind or other
	// parameters is ErrConflict. Bad parameters are ErrValue.
	Create(kind Kind, name string, p Params) (Object, error)
	// Open returns the object of that name if its kind supports kind's
	// operations (a joinablequeue opens as a queue, an rlock as a lock,
	// a boundedsemaphore as a semaphore); otherwise ErrWrongKind. A
	// missing object is created with default parameters when the store
	// auto-creates, else ErrNotFound.
	Open(kind Kind, name string) (Object, error)
	// Delete removes an object; its parked waits fail with ErrClosed.
	Delete(name string) error
	// List summarises every object, sorted by name, for `corral status`.
	List() []Status
	// ReleaseAll gives back everything owner o holds and cancels its
	// parked waits (their callbacks are not called), because o has gone
	// away. It breaks barriers o was waiting at. It returns one line per
	// thing released, for the log.
	ReleaseAll(o Owner) []string
	// Close fails every parked wait with ErrClosed; later calls fail with
	// ErrClosed.
	Close() error
}

// Options configure a memory store.
type Options struct {
	// AutoCreate makes Open create missing objects with default parameters,
	// as a Manager creates on first use; off, Open fails with ErrNotFound.
	AutoCreate bool
	// MaxItemSize bounds an item (queue item, pipe message, dict key or
	// value, ...) in bytes of JSON; 0 means no limit. Over it: ErrTooLarge.
	MaxItemSize int
}

// MaxNameLen is the longest object name, in bytes.
const MaxNameLen = 255

// MemStore is the in-memory Store.
type MemStore struct {
	opts   Options
	limits limits

	mu      sync.RWMutex
	objects map[string]storeEntry
	closed  bool
}

type storeEntry struct {
	obj    Object
	params Params // normalised
}

var _ Store = (*MemStore)(nil)

// NewMemStore returns an empty memory store.
func NewMemStore(opts Options) *MemStore {
	return &MemStore{opts: opts, limits: limits{maxItem: opts.MaxItemSize},
		objects: map[string]storeEntry{}}
}

// CheckName validates an object name: 1 to 255 bytes of UTF-8 without
// control characters, so that names print safely in logs and status.
func CheckName(name string) error {
	switch {
	case name == "":
		return errorf(ErrName, "an object needs a name")
	case len(name) > MaxNameLen:
		return errorf(ErrName, "name of %d bytes is over %d", len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return errorf(ErrName, "name %q is not UTF-8", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return errorf(ErrName, "name %q holds a control character", name)
		}
	}
	return nil
}

func (s *MemStore) closedErr() error { return errorf(ErrClosed, "the store is closed") }

// Create implements Store.
func (s *MemStore) Create(kind Kind, name string, p Params) (Object, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if !kind.valid() {
		return nil, errorf(ErrWrongKind, "unknown kind %q", kind)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.closedErr()
	}
	obj, np, err := s.build(kind, name, p)
	if err != nil {
		return nil, err
	}
	if e, ok := s.objects[name]; ok {
		if e.obj.Kind() != kind {
			return nil, errorf(ErrConflict, "%s exists as a %s", name, e.obj.Kind())
		}
		if !e.params.equal(np) {
			return nil, errorf(ErrConflict, "%s %s exists with other parameters", kind, name)
		}
		return e.obj, nil
	}
	s.objects[name] = storeEntry{obj, np}
	return obj, nil
}

// Open implements Store.
func (s *MemStore) Open(kind Kind, name string) (Object, error) {
	s.mu.RLock()
	e, ok := s.objects[name]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, s.closedErr()
	}
	if ok {
		if e.obj.Kind() != kind && e.obj.Kind().family() != kind {
			return nil, errorf(ErrWrongKind, "%s is a %s, not a %s", name, e.obj.Kind(), kind)
		}
		return e.obj, nil
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if !kind.valid() {
		return nil, errorf(ErrWrongKind, "unknown kind %q", kind)
	}
	if !s.opts.AutoCreate {
		return nil, errorf(ErrNotFound, "no object named %s", name)
	}
	if err := (Params{}).check(kind); err != nil {
		return nil, errorf(ErrNotFound, "no %s named %s, and one cannot be made without parameters (%v)", kind, name, err)
	}
	// Create settles a race between two first users: one creates, the
	// other gets the same object.
	return s.Create(kind, name, Params{})
}

// Delete implements Store.
func (s *MemStore) Delete(name string) error {
	s.mu.Lock()
	e, ok := s.objects[name]
	delete(s.objects, name)
	s.mu.Unlock()
	if !ok {
		return errorf(ErrNotFound, "no object named %s", name)
	}
	if sd, ok := e.obj.(shutdowner); ok {
		sd.shutdown()
	}
	return nil
}

// List implements Store.
func (s *MemStore) List() []Status {
	objs := s.snapshot()
	out := make([]Status, len(objs))
	for i, o := range objs {
		out[i] = o.Status()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (s *MemStore) snapshot() []Object {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Object, 0, len(s.objects))
	for _, e := range s.objects {
		out = append(out, e.obj)
	}
	return out
}

// ReleaseAll implements Store.
func (s *MemStore) ReleaseAll(o Owner) []string {
	objs := s.snapshot()
	// Conditions go first: once their waits of o are gone, a notify can no
	// longer move o into a lock's queue while that lock is being released.
	sort.SliceStable(objs, func(i, j int) bool {
		return objs[i].Kind() == KindCondition && objs[j].Kind() != KindCondition
	})
	var out []string
	for _, obj := range objs {
		if r, ok := obj.(ownerReleaser); ok {
			out = append(out, r.releaseOwner(o)...)
		}
	}
	return out
}

// Close implements Store.
func (s *MemStore) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	for _, obj := range s.snapshot() {
		if sd, ok := obj.(shutdowner); ok {
			sd.shutdown()
		}
	}
	return nil
}

// build makes a new object from checked parameters and returns them
// normalised, for comparison with an existing object's. s.mu is held.
func (s *MemStore) build(kind Kind, name string, p Params) (Object, Params, error) {
	if err := p.check(kind); err != nil {
		return nil, p, errorf(ErrValue, "%s %s: %v", kind, name, err)
	}
	b := base{kind: kind, name: name, limits: &s.limits}
	switch kind {
	case KindQueue, KindSimpleQueue, KindJoinableQueue:
		return newQueue(b, p.Maxsize, kind == KindJoinableQueue), p, nil
	case KindLock, KindRLock:
		return newLock(b, kind == KindRLock), p, nil
	case KindSemaphore, KindBoundedSemaphore:
		if p.Value == nil {
			one := 1
			p.Value = &one
		}
		return newSemaphore(b, *p.Value, kind == KindBoundedSemaphore), p, nil
	case KindEvent:
		return newEvent(b), p, nil
	case KindCondition:
		if p.Lock == "" {
			return newCondition(b, newLock(base{kind: KindRLock, name: name + ".lock"}, true), true), p, nil
		}
		e, ok := s.objects[p.Lock]
		if !ok {
			return nil, p, errorf(ErrNotFound, "condition %s: no lock named %s", name, p.Lock)
		}
		l, ok := e.obj.(*memLock)
		if !ok {
			return nil, p, errorf(ErrWrongKind, "condition %s: %s is a %s, not a lock or rlock", name, p.Lock, e.obj.Kind())
		}
		return newCondition(b, l, false), p, nil
	case KindBarrier:
		return newBarrier(b, p.Parties, p.Timeout), p, nil
	case KindValue, KindArray:
		t, err := ParseTypecode(p.Typecode)
		if err != nil {
			return nil, p, err
		}
		lock := newLock(base{kind: KindRLock, name: name + ".lock"}, true)
		if kind == KindValue {
			var v slot
			if p.Initial != nil {
				if v, err = t.parse(p.Initial); err != nil {
					return nil, p, err
				}
			}
			p.Initial = t.format(v)
			return newValue(b, t, v, lock), p, nil
		}
		a := make([]slot, p.Size)
		if p.Initial != nil {
			if a, err = parseSlots(t, p.Initial); err != nil {
				return nil, p, err
			}
		}
		return newArray(b, t, a, lock), p, nil
	case KindDict:
		d := newDict(b)
		if p.Initial != nil {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(p.Initial, &m); err != nil {
				return nil, p, errorf(ErrType, "dict %s: initial must be a JSON object", name)
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			// JSON objects carry no order we can trust after decoding:
			// sort, so the same declaration always gives the same order.
			sort.Strings(keys)
			for _, k := range keys {
				kb, _ := json.Marshal(k)
				if err := d.Set(kb, m[k]); err != nil {
					return nil, p, err
				}
			}
		}
		return d, p, nil
	case KindList:
		l := newList(b)
		if p.Initial != nil {
			runs, _, err := jsonx.Chunks(p.Initial, 1)
			if err != nil || !validJSON(p.Initial) {
				return nil, p, errorf(ErrType, "list %s: initial must be a JSON array", name)
			}
			items := make([]json.RawMessage, len(runs))
			for i, r := range runs {
				items[i] = r
			}
			if err := l.Extend(items); err != nil {
				return nil, p, err
			}
		}
		return l, p, nil
	case KindNamespace:
		return newNamespace(b), p, nil
	case KindPipe:
		return newPipe(b, !p.Simplex), p, nil
	}
	return nil, p, fmt.Errorf("sharedstate: kind %s not built", kind)
}

// Open returns the object of that name as the interface T of its kind, for
// callers that want the typed API: Open[Queue](s, KindQueue, "jobs").
func Open[T Object](s Store, kind Kind, name string) (T, error) {
	var zero T
	obj, err := s.Open(kind, name)
	if err != nil {
		return zero, err
	}
	t, ok := obj.(T)
	if !ok {
		return zero, errorf(ErrWrongKind, "%s is a %s", name, obj.Kind())
	}
	return t, nil
}
