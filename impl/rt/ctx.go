package rt

import (
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/internal/evqkey"
	"github.com/insideout-go/insideout/impl/seam"
)

// stepCtx is the context.Context a runtime gives a step. It costs nothing
// until used: the channel is made only when a step asks for Done, and a
// new context is made only after one has ended. It never has a deadline or
// values.
type stepCtx struct {
	r    *Runtime            // the runtime, the step's cont.Spawner
	err  seam.Pointer[error] // set once, when the context ends
	mu   seam.Mutex
	done chan struct{} // closed by seam.Close, once
}

// closedChan is the Done channel of a context that ended before anyone
// asked for it.
var closedChan = func() chan struct{} { c := make(chan struct{}); seam.Close(c); return c }()

func (s *stepCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// Value answers cont.SpawnerKey with the runtime, for cont.NovelThread,
// and evqkey.Key with it too, for eventq.FromContext, which calls its
// EventQueue method to get (and on first use make) its local event queue.
func (s *stepCtx) Value(key any) any {
	switch key.(type) {
	case cont.SpawnerKey, evqkey.Key:
		if s.r != nil {
			return s.r
		}
	}
	return nil
}

// Done returns a channel closed when the context ends.
func (s *stepCtx) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		if s.err.Load() != nil {
			return closedChan
		}
		s.done = make(chan struct{})
	}
	return s.done
}

// Err returns why the context ended, or nil.
func (s *stepCtx) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// ended reports whether the context has ended.
func (s *stepCtx) ended() bool { return s.err.Load() != nil }

// end ends the context with err, once.
func (s *stepCtx) end(err error) {
	if !s.err.CompareAndSwap(nil, &err) {
		return
	}
	s.mu.Lock()
	if s.done != nil {
		seam.Close(s.done)
	}
	s.mu.Unlock()
}
