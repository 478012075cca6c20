// Package queuetest checks implementations of spec.Queue[int], such as
// impl/queue's: the linearizability scenario that `insideout verify`, the
// tests, the stress suites and the fuzz targets run, as net/http/httptest
// serves net/http.
package queuetest

import (
	"github.com/insideout-go/insideout/impl/queue"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// Ops are the operations of a spec.Queue[int] scenario: push of a
// distinct value, and pop. Push is Ops[0], pop is Ops[1], so Roles can
// name them: {{1, 0}, {0, 1}} makes producers and consumers. Both are
// LockFree, as impl/queue's are (its package documentation):
// Scenario.CheckProgress holds a queue to that claim, which a queue under
// a mutex (BadQueue's Correct) fails.
func Ops() []linearize.Op[spec.Queue[int], model.QueueInput, model.QueueOutput] {
	return []linearize.Op[spec.Queue[int], model.QueueInput, model.QueueOutput]{
		{
			Name:     "push",
			LockFree: true,
			Input: func(g *linearize.Gen) model.QueueInput {
				return model.QueueInput{Op: model.QueuePush, Value: g.Unique()}
			},
			Run: func(q spec.Queue[int], in model.QueueInput) model.QueueOutput {
				v := in.Value
				q.Push(&v)
				return model.QueueOutput{}
			},
		},
		{
			Name:     "pop",
			Input:    func(*linearize.Gen) model.QueueInput { return model.QueueInput{Op: model.QueuePop} },
			Run:      func(q spec.Queue[int], _ model.QueueInput) model.QueueOutput { return Pop(q) },
			LockFree: true,
		},
	}
}

// Pop pops q once and returns the model's record of the result.
func Pop(q spec.Queue[int]) model.QueueOutput {
	if p := q.Pop(); p != nil {
		return model.QueueOutput{Value: *p, Ok: true}
	}
	return model.QueueOutput{}
}

// Drain records, once every client has returned, the queue's Len and
// then pops until it is empty: the history then also shows that Len is
// exact when quiescent and that every value still queued comes out, in
// order.
func Drain(q spec.Queue[int], c linearize.Caller[model.QueueInput, model.QueueOutput]) {
	c.Do(model.QueueInput{Op: model.QueueLen}, func() model.QueueOutput { return model.QueueOutput{Value: q.Len()} })
	for {
		out := c.Do(model.QueueInput{Op: model.QueuePop}, func() model.QueueOutput { return Pop(q) })
		if !out.Ok {
			return
		}
	}
}

// Scenario returns the linearizability scenario for any spec.Queue[int]
// that newQueue builds: clients push distinct values and pop, concurrently,
// then Drain empties the queue. Set the returned scenario's Clients,
// OpsPerClient, Rounds, Seed and Roles to taste.
func Scenario(name string, newQueue func() spec.Queue[int]) linearize.Scenario[spec.Queue[int], model.QueueInput, model.QueueOutput] {
	return linearize.Scenario[spec.Queue[int], model.QueueInput, model.QueueOutput]{
		Name:         name,
		Model:        linearize.Porcupine[model.QueueInput, model.QueueOutput](model.Queue()),
		New:          newQueue,
		Ops:          Ops(),
		Clients:      4,
		OpsPerClient: 8,
		Finally:      Drain,
	}
}

// NewQueue builds the queue of impl/queue as a spec.Queue[int].
func NewQueue() spec.Queue[int] { return queue.New[int]() }
