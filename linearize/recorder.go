package linearize

import (
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
)

// A Recorder collects the history of one concurrent run: every client
// goroutine records its own operations through its own [Client], and
// [Recorder.History] gathers them once the clients have finished.
//
// Timestamps come from the monotonic clock, in nanoseconds since the
// Recorder was made. A call is stamped before the operation is invoked and
// its return after the operation has returned, so each recorded interval
// contains the operation's real interval; that is what makes a linearizable
// verdict sound.
type Recorder struct {
	start   time.Time
	clients []Client
}

// NewRecorder returns a Recorder for clients clients, each expected to
// record about opsPerClient operations (a capacity hint; more may be
// recorded).
func NewRecorder(clients, opsPerClient int) *Recorder {
	r := &Recorder{start: time.Now(), clients: make([]Client, clients)}
	for i := range r.clients {
		r.clients[i] = Client{id: i, start: r.start, ops: make([]porcupine.Operation, 0, opsPerClient)}
	}
	return r
}

// Client returns the recorder of client i. Each Client must be used by one
// goroutine at a time.
func (r *Recorder) Client(i int) *Client { return &r.clients[i] }

// inProgress returns the inputs of the calls that clients have begun and
// not yet returned from (as recorded by Scenario.RunProgram).
func (r *Recorder) inProgress() []any {
	var in []any
	for i := range r.clients {
		if p := r.clients[i].current.Load(); p != nil {
			in = append(in, *p)
		}
	}
	return in
}

// History returns every recorded operation, client by client. Call it only
// after every client has finished recording.
func (r *Recorder) History() []porcupine.Operation {
	n := 0
	for i := range r.clients {
		n += len(r.clients[i].ops)
	}
	h := make([]porcupine.Operation, 0, n)
	for i := range r.clients {
		h = append(h, r.clients[i].ops...)
	}
	return h
}

// A Client records the operations of one client goroutine.
type Client struct {
	id      int
	start   time.Time
	ops     []porcupine.Operation
	current atomic.Pointer[any] // the input of the call in progress, if any
	_       [64]byte            // keep neighbouring clients' slice headers off one line
}

// Call stamps the call of an operation; pass the stamp to [Client.Return]
// once the operation has returned.
func (c *Client) Call() int64 { return int64(time.Since(c.start)) }

// Return stamps the return of the operation called at call, and records it
// with its input and output.
func (c *Client) Return(call int64, input, output any) {
	ret := int64(time.Since(c.start))
	c.ops = append(c.ops, porcupine.Operation{ClientId: c.id, Input: input, Call: call, Output: output, Return: ret})
}

// Do records one operation: it stamps the call, runs f, stamps the return,
// and records input with f's result as the output, which it also returns.
func (c *Client) Do(input any, f func() any) any {
	call := c.Call()
	out := f()
	c.Return(call, input, out)
	return out
}
