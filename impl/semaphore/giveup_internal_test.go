package semaphore

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// A Release that saw a sleeper queued takes the lock to hand it its
// permit, and may find there that the last sleeper gave up meanwhile: it
// reads the word again under the lock while another Release, with no
// sleeper left, changes the word without the lock. That read must be
// atomic. The test builds the moment by hand: it holds the lock with the
// queued bit set (a sleeper), starts a Release, waits until it is
// blocked on the lock, does what the sleeper's giving up does (clear the
// bit, under the lock), starts a second Release, which takes the
// lock-free path, and lets go of the lock. Nothing orders that Release's
// CAS with the first one's read under the lock, so under -race a plain
// read is a reported race. The bug it catches: a plain read of the
// word under the lock (the mutation runner's survivor
// Semaphore.Release:atomic-plain:3, which no mix of free-running calls
// made visible); and, in any build, a Release that, finding the sleeper
// gone, loses its permit or hands it to no one (the count at the end).
func TestReleaseAfterTheSleeperGaveUp(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	s, err := New(2)
	if err != nil {
		t.Fatal(err)
	}
	if !s.TryAcquire() || !s.TryAcquire() {
		t.Fatal("a new semaphore of 2 did not give 2 permits")
	}
	s.mu.Lock()
	s.state.Store(queued) // a sleeper, as the first Release will see it
	first := make(chan struct{})
	go func() {
		defer close(first)
		s.Release()
	}()
	waitBlockedOnLock(t, "(*Semaphore).Release")
	s.state.Store(0) // the sleeper gave up: the bit cleared under the lock
	second := make(chan struct{})
	go func() {
		defer close(second)
		s.Release() // lock-free: nothing is queued now
	}()
	// Give the second Release time to finish before the first reads the
	// word: a sleep, since anything the test learned it from (a receive,
	// an atomic load) would order the two calls for the race detector.
	time.Sleep(2 * time.Millisecond)
	s.mu.Unlock()
	<-first
	<-second
	if n := s.Available(); n != 2 {
		t.Fatalf("Available = %d after both permits were released, want 2", n)
	}
}

// waitBlockedOnLock waits until a goroutine is blocked on the lock in
// the function fn.
func waitBlockedOnLock(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		for g := range bytes.SplitSeq(buf[:n], []byte("\n\n")) {
			if bytes.Contains(g, []byte(fn)) && bytes.Contains(g, []byte("sync.(*Mutex).Lock")) {
				return
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
}
