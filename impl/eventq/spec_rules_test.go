package eventq_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The rule (spec/eventq.go, Events, EvMessage): "kept from the Nim
// original; Linux accepts it and never reports it, so a registration
// waiting for it alone never fires". A registration for Message alone on
// a readable pipe is accepted and never handed out, while one for Read on
// the same pipe fires (the pipe is ready). The bug it catches: Message
// mapped to an epoll flag that the kernel reports (EPOLLIN, say), so that
// a registration asking for nothing Linux delivers fires at once; or
// Message refused as an event set with no condition.
func TestMessageAloneNeverFires(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, w := pipe(t)
	if err := eventq.Message.Check(); err != nil {
		t.Fatalf("Message alone: %v, want an event set a registration may ask for", err)
	}
	if _, err := q.Register(r.fd, eventq.Message, idle()); err != nil {
		t.Fatalf("Register for Message alone: %v", err)
	}
	if _, err := unix.Write(w.fd, []byte("x")); err != nil {
		t.Fatal(err)
	}
	none(t, q, 20*time.Millisecond, "a registration for Message alone on a readable pipe")
	c := idle()
	id, err := q.Register(r.fd, eventq.Read|eventq.OneShot, c)
	if err != nil {
		t.Fatal(err)
	}
	one(t, q, id, c) // the pipe was ready: the Message registration had a firing to miss
}
