package sharedstate

import "fmt"

// Owner identifies a holder of locks and permits and the party to a wait:
// in the supervisor, one connection. It is comparable, so it can key maps.
// ID is what identity rests on; Name is for humans (the log, corral status).
type Owner struct {
	ID   uint64
	Name string
}

// String names the owner for logs: its name, or its ID when it has none.
func (o Owner) String() string {
	if o.Name != "" {
		return o.Name
	}
	return fmt.Sprintf("#%d", o.ID)
}
