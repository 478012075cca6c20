// Package homekey holds the context key under which a dispatcher (impl/pool's)
// puts the mailbox its continuations come from, so that a step that must
// leave its runner for a while, such as impl/eventq's Sleep on a pool worker
// without an event queue, can send its continuation back there when it is
// due.
package homekey

// Key is the context key. Its value is the *cont.Box (a
// *mailbox.Mailbox[cont.C]) that the continuation being stepped came from.
type Key struct{}
