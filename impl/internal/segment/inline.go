package segment

// The compiler inlines the methods of sync/atomic's types, which
// impl/seam's atomic types alias in an ordinary build, only into a
// package that imports sync/atomic itself: without this import every
// Add and Load here is a call (go build -gcflags=-S shows CALL
// sync/atomic.(*Uint64).Add). The import costs nothing.
import _ "sync/atomic"
