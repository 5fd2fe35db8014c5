package sharedstate

import (
	"sort"
	"sync"

	json "github.com/segmentio/encoding/json"
)

// Namespace is a bag of named attributes, as a Manager().Namespace().
// Names are strings; values are opaque JSON. A missing attribute is
// ErrAttribute, as Python's AttributeError.
type Namespace interface {
	Object
	// GetAttr returns attribute name.
	GetAttr(name string) (json.RawMessage, error)
	// SetAttr sets attribute name.
	SetAttr(name string, v json.RawMessage) error
	// DelAttr deletes attribute name.
	DelAttr(name string) error
	// Attrs lists every attribute, sorted by name (as Python's repr).
	Attrs() []Attr
}

// Attr is one namespace attribute.
type Attr struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// memNamespace implements Namespace in memory.
type memNamespace struct {
	base
	mu    sync.Mutex
	attrs map[string]json.RawMessage
}

func newNamespace(b base) *memNamespace {
	return &memNamespace{base: b, attrs: map[string]json.RawMessage{}}
}

func (n *memNamespace) missing(name string) error {
	return errorf(ErrAttribute, "%s has no attribute %q", n.label(), name)
}

// GetAttr implements Namespace.
func (n *memNamespace) GetAttr(name string) (json.RawMessage, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	v, ok := n.attrs[name]
	if !ok {
		return nil, n.missing(name)
	}
	return v, nil
}

// SetAttr implements Namespace.
func (n *memNamespace) SetAttr(name string, v json.RawMessage) error {
	if err := n.checkItem(v); err != nil {
		return err
	}
	if name == "" {
		return errorf(ErrAttribute, "%s: an attribute needs a name", n.label())
	}
	n.mu.Lock()
	n.attrs[name] = v
	n.mu.Unlock()
	return nil
}

// DelAttr implements Namespace.
func (n *memNamespace) DelAttr(name string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.attrs[name]; !ok {
		return n.missing(name)
	}
	delete(n.attrs, name)
	return nil
}

// Attrs implements Namespace.
func (n *memNamespace) Attrs() []Attr {
	n.mu.Lock()
	out := make([]Attr, 0, len(n.attrs))
	for k, v := range n.attrs {
		out = append(out, Attr{k, v})
	}
	n.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Status implements Object.
func (n *memNamespace) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	return Status{Kind: n.kind, Name: n.name, Depth: len(n.attrs)}
}
