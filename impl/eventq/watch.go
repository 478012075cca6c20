package eventq

import (
	"context"

	"github.com/insideout-go/insideout/impl/cont"
)

// Watch returns the step that ends a step by handing c to a repeating
// registration: a step ends with return eventq.Watch(ctx, c, fd,
// eventq.Read|eventq.Edge, next). Once the step has returned, c is
// registered for events on fd in the queue of whoever runs it
// (FromContext), and next runs at each firing: the registration lends c
// for one step and takes it back after (RunReady and polling runtimes
// hand it back with Rearm if the step left it unfinished, and end the
// registration if it finished). It is how a continuation serves an fd for
// its whole life with one registration, as a server's connection does. If
// it cannot be registered, c stays and next runs at once, with the error
// in cont.MoveErr of its context. events must not hold OneShot (use
// Await): that is a bad event set.
func Watch(ctx context.Context, c *cont.C, fd int, events Events, next cont.Step) cont.Step {
	return c.Away(Giving(ctx, func(q *Queue, c *cont.C) (ID, error) {
		if events&OneShot != 0 {
			return 0, ErrBadEvents
		}
		return q.Register(fd, events, c)
	}), next)
}
