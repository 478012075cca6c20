// Package evqkey holds the context key under which a step's context gives
// the event queue of whoever runs the step. Package eventq reads it
// (eventq.FromContext) and sets it (eventq.NewContext, RunReady's steps);
// impl/rt's step context answers it with the runtime, whose EventQueue
// method makes the queue on first use. Being internal, the key is no part
// of either package's API.
package evqkey

// Key is the context key. Its value is an *eventq.Queue, or a value with
// a method EventQueue() (*eventq.Queue, error) that makes one on first
// use.
type Key struct{}
