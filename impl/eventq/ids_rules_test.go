package eventq_test

import (
	"testing"
	"time"

	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The rule (spec/eventq.go, EventID): ids are issued in increasing order
// from 1 and never reused; zero is never an id. Registrations of every
// kind, some ended and the table emptied between them, get 1, 2, 3, … in
// the order they were made. The bugs it catches: ids counted from 0; ids
// drawn from the table's size or from the last live id, which hand an
// ended registration's id out again (a Rearm or Cancel meant for it would
// reach the new one); ids that skip. TestLinearizable catches an id
// handed out twice, but not ids that skip or start above 1: the model
// (model.EventQ) asks only that a new id be above every live one.
func TestIDsCountFromOneNeverReused(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	q := newQueue(t)
	r, _ := pipe(t)
	want := eventq.ID(1)
	// issued("what")(q.Register(…)) checks the id that call got.
	issued := func(what string) func(eventq.ID, error) eventq.ID {
		return func(id eventq.ID, err error) eventq.ID {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if id != want {
				t.Fatalf("%s: id %d, want %d: ids count from 1, in order, and are never reused", what, id, want)
			}
			want++
			return id
		}
	}
	fd := issued("the first Register")(q.Register(r.fd, eventq.Read, idle()))
	timer := issued("a one-shot timer")(q.After(time.Hour, idle()))
	every := issued("a periodic timer")(q.Every(time.Hour, idle()))
	for _, id := range []eventq.ID{every, timer, fd} {
		if !q.Cancel(id) {
			t.Fatalf("Cancel(%d) of a live registration reported false", id)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len %d with every registration cancelled", q.Len())
	}
	// The table is empty: the next id is still the next one, not 1 again
	// nor the last one cancelled.
	again := issued("a Register once the table is empty")(q.Register(r.fd, eventq.Read, idle()))
	issued("a timer after it")(q.After(time.Hour, idle()))
	if !q.Cancel(again) {
		t.Fatalf("Cancel(%d) of a live registration reported false", again)
	}
	issued("a Register after the older of two ended")(q.Register(r.fd, eventq.Read, idle()))
}
