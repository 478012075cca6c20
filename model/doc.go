// Package model holds the executable models of insideout's primitives:
// for each, a reference sequential implementation (the simplest obviously
// correct one: a slice, a map, a state machine) for property-based tests,
// and a porcupine model for checking concurrent histories. The models, by
// primitive: the queue (FIFO, Queue), the mailbox (MailboxRef, Mailbox,
// VoidMailbox), the runtime (RuntimeRef, Runtime: a group of runtimes
// with links and signals), the pool (PoolRef, RunnerPoolRef, PoolLedger,
// Pool), the event queue (EventQRef, EventQ), the semaphore
// (SemaphoreRef, Semaphore), the cubby (CubbyRef, Cubby) and the backlog
// (BacklogRef, Backlog).
//
// Continuations are the exception, and on purpose: a continuation has
// one right to run, which a move hands on, so its steps never overlap and
// there is no concurrent history to linearize. Their model is the trace
// the program must produce, every step once, in order, on its pool
// (ContTrace); the checks compare the trace recorded against it.
//
// Models never import impl/: a model that called the code it checks would
// agree with every bug in it. Each model transcribes the rules written in
// package spec.
//
// To verify a primitive of your own, write its model here in the same
// shape: an input and an output type that record one call, a porcupine.Model
// whose Step applies the sequential rules to an immutable state, and
// Describe functions so that a failing history renders readably.
package model
