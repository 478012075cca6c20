package model_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
	"pgregory.net/rapid"
)

func eqRegister(fd int, ev spec.Events, id spec.EventID, err error) porcupine.Operation {
	return porcupine.Operation{
		Input:  model.EventQInput{Op: model.EqRegister, FD: fd, Events: ev},
		Output: model.EventQOutput{ID: id, Err: err},
	}
}

func eqCancel(id spec.EventID, ok bool) porcupine.Operation {
	return porcupine.Operation{Input: model.EventQInput{Op: model.EqCancel, ID: id}, Output: model.EventQOutput{Bool: ok}}
}

func eqFire(id spec.EventID) porcupine.Operation {
	return porcupine.Operation{Input: model.EventQInput{Op: model.EqFire, ID: id}, Output: model.EventQOutput{}}
}

func eqRearm(id spec.EventID, err error) porcupine.Operation {
	return porcupine.Operation{Input: model.EventQInput{Op: model.EqRearm, ID: id}, Output: model.EventQOutput{Err: err}}
}

const (
	rd     = spec.EvRead
	rdOnce = spec.EvRead | spec.EvOneShot
)

var errKernel = errors.New("EBADF")

// Each case names the model bug that would flip its verdict.
func TestEventQModelVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"register, fire, cancel", seq(eqRegister(3, rd, 1, nil), eqFire(1), eqCancel(1, true)), true},
		{"fire after a successful cancel (a model that forgets cancels)", seq(
			eqRegister(3, rd, 1, nil), eqCancel(1, true), eqFire(1)), false},
		{"a one-shot firing twice (a model without one-shot)", seq(
			eqRegister(3, rdOnce, 1, nil), eqFire(1), eqFire(1)), false},
		{"a one-shot firing twice with a rearm between (a rearm that revives)", seq(
			eqRegister(3, rdOnce, 1, nil), eqFire(1), eqRearm(1, nil), eqFire(1)), false},
		{"cancel after a one-shot fired returns false", seq(
			eqRegister(3, rdOnce, 1, nil), eqFire(1), eqCancel(1, false)), true},
		{"cancel after a one-shot fired returning true (a one-shot that does not end)", seq(
			eqRegister(3, rdOnce, 1, nil), eqFire(1), eqCancel(1, true)), false},
		{"second cancel returns false", seq(eqRegister(3, rd, 1, nil), eqCancel(1, true), eqCancel(1, false)), true},
		{"second cancel returning true (a model whose cancel does not end)", seq(
			eqRegister(3, rd, 1, nil), eqCancel(1, true), eqCancel(1, true)), false},
		{"cancel of an unknown id returning true (a model that invents registrations)", seq(eqCancel(7, true)), false},
		{"cancel of an unknown id returns false", seq(eqCancel(7, false)), true},
		{"fire of an id never issued", seq(eqFire(1)), false},
		{"a repeating registration fires again after a rearm", seq(
			eqRegister(3, rd, 1, nil), eqFire(1), eqRearm(1, nil), eqFire(1), eqRearm(1, nil), eqFire(1)), true},
		{"a lent registration firing again (a model that hands a continuation out twice)", seq(
			eqRegister(3, rd, 1, nil), eqFire(1), eqFire(1)), false},
		{"rearm of a cancelled id fails with ErrUnknownID", seq(
			eqRegister(3, rd, 1, nil), eqCancel(1, true), eqRearm(1, spec.ErrUnknownID)), true},
		{"rearm of a cancelled id succeeding", seq(
			eqRegister(3, rd, 1, nil), eqCancel(1, true), eqRearm(1, nil)), false},
		{"cancel of a lent registration returns true", seq(
			eqRegister(3, rd, 1, nil), eqFire(1), eqCancel(1, true)), true},
		{"an id issued twice (a model that reuses ids)", seq(
			eqRegister(3, rd, 1, nil), eqCancel(1, true), eqRegister(3, rd, 1, nil)), false},
		{"ids increase, gaps allowed", seq(eqRegister(3, rd, 2, nil), eqRegister(4, rd, 5, nil)), true},
		{"an id issued twice, both live (a model that keeps one registration per id blindly)", seq(
			eqRegister(3, rd, 1, nil), eqRegister(4, rd, 1, nil)), false},
		{"a failed register next to a live one", seq(
			eqRegister(3, rd, 1, nil), eqRegister(-1, rd, 0, errKernel), eqCancel(1, true), eqCancel(1, false)), true},
		{"Edge|Level registered (a model that does not check the event set)", seq(
			eqRegister(3, spec.EvRead|spec.EvEdge|spec.EvLevel, 1, nil)), false},
		{"Edge|Level refused with ErrBadEvents", seq(
			eqRegister(3, spec.EvRead|spec.EvEdge|spec.EvLevel, 0, spec.ErrBadEvents)), true},
		{"a good set refused with ErrBadEvents (a model too strict)", seq(
			eqRegister(3, spec.EvRead|spec.EvLevel, 0, spec.ErrBadEvents)), false},
		{"a refused fd registers nothing", seq(eqRegister(-1, rd, 0, errKernel), eqFire(1)), false},
		{"a cancel racing a one-shot's fire cannot both succeed (a model that lets a cancelled one fire)", []porcupine.Operation{
			{ClientId: 0, Input: model.EventQInput{Op: model.EqRegister, FD: 3, Events: rdOnce}, Output: model.EventQOutput{ID: 1}, Call: 0, Return: 1},
			{ClientId: 0, Input: model.EventQInput{Op: model.EqCancel, ID: 1}, Output: model.EventQOutput{Bool: true}, Call: 2, Return: 5},
			{ClientId: 1, Input: model.EventQInput{Op: model.EqFire, ID: 1}, Output: model.EventQOutput{}, Call: 2, Return: 5},
		}, false},
		{"a cancel racing a fire: cancel false means the fire came first", []porcupine.Operation{
			{ClientId: 0, Input: model.EventQInput{Op: model.EqRegister, FD: 3, Events: rdOnce}, Output: model.EventQOutput{ID: 1}, Call: 0, Return: 1},
			{ClientId: 0, Input: model.EventQInput{Op: model.EqCancel, ID: 1}, Output: model.EventQOutput{Bool: false}, Call: 2, Return: 5},
			{ClientId: 1, Input: model.EventQInput{Op: model.EqFire, ID: 1}, Output: model.EventQOutput{}, Call: 2, Return: 5},
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(model.EventQ(), tc.h); got != tc.ok {
				t.Fatalf("linearizable = %v, want %v", got, tc.ok)
			}
		})
	}
}

func TestEventQRef(t *testing.T) {
	var q model.EventQRef
	if _, err := q.Register(3, spec.EvEdge|spec.EvLevel|spec.EvRead); !errors.Is(err, spec.ErrBadEvents) {
		t.Fatalf("Register(Edge|Level) = %v, want ErrBadEvents", err)
	}
	if _, err := q.Register(-1, rd); err == nil {
		t.Fatal("Register(-1) succeeded")
	}
	once, _ := q.Register(3, rdOnce)
	rep, _ := q.Register(3, rd)
	if once == rep || once == 0 || rep == 0 {
		t.Fatalf("ids %d %d: want distinct and non-zero", once, rep)
	}
	if !q.Fire(once) || q.Fire(once) {
		t.Fatal("a one-shot must fire once and only once")
	}
	if q.Cancel(once) || q.Rearm(once) == nil {
		t.Fatal("a fired one-shot must have ended")
	}
	if !q.Fire(rep) || q.Fire(rep) {
		t.Fatal("a repeating registration fires, then is lent")
	}
	if q.Rearm(rep) != nil || !q.Fire(rep) {
		t.Fatal("a rearmed registration fires again")
	}
	if !q.Cancel(rep) || q.Fire(rep) || q.Cancel(rep) || q.Cancel(99) {
		t.Fatal("a cancelled registration never fires, and cancels once")
	}
	if len(q.Live()) != 0 {
		t.Fatalf("Live = %v, want none", q.Live())
	}
}

// The porcupine model and EventQRef are two transcriptions of the same
// rules: every sequential history drawn from the reference is legal, the
// same history with one Cancel or Rearm result altered is not, and a Fire
// the reference forbids (after a cancel, a one-shot's second, a lent one's)
// makes it illegal.
func TestEventQModelAgreesWithRef(t *testing.T) {
	events := []spec.Events{rd, rdOnce, spec.EvRead | spec.EvEdge, spec.EvWrite | spec.EvLevel,
		spec.EvEdge | spec.EvLevel | spec.EvRead, spec.EvOneShot, spec.EvExclusive | spec.EvRead}
	rapid.Check(t, func(t *rapid.T) {
		var q model.EventQRef
		var h []porcupine.Operation
		var flipAt []int
		var issued []spec.EventID
		pick := func() spec.EventID {
			if len(issued) == 0 || rapid.IntRange(0, 9).Draw(t, "unknown") == 0 {
				return spec.EventID(rapid.IntRange(1, 50).Draw(t, "any id"))
			}
			return rapid.SampledFrom(issued).Draw(t, "id")
		}
		for range rapid.IntRange(0, 30).Draw(t, "n") {
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0:
				fd := rapid.IntRange(-1, 5).Draw(t, "fd")
				ev := rapid.SampledFrom(events).Draw(t, "events")
				id, err := q.Register(fd, ev)
				if err == nil {
					issued = append(issued, id)
				}
				h = append(h, eqRegister(fd, ev, id, err))
			case 1:
				id := pick()
				flipAt = append(flipAt, len(h))
				h = append(h, eqCancel(id, q.Cancel(id)))
			case 2:
				if id := pick(); q.Fire(id) {
					h = append(h, eqFire(id))
				}
			case 3:
				id := pick()
				flipAt = append(flipAt, len(h))
				h = append(h, eqRearm(id, q.Rearm(id)))
			}
		}
		if !porcupine.CheckOperations(model.EventQ(), seq(h...)) {
			t.Fatalf("the model rejects the reference's history: %v", h)
		}
		if len(flipAt) > 0 {
			i := rapid.SampledFrom(flipAt).Draw(t, "flip")
			bad := append([]porcupine.Operation(nil), h...)
			out := bad[i].Output.(model.EventQOutput)
			if bad[i].Input.(model.EventQInput).Op == model.EqCancel {
				out.Bool = !out.Bool
			} else if out.Err == nil {
				out.Err = spec.ErrUnknownID
			} else {
				out.Err = nil
			}
			bad[i].Output = out
			if porcupine.CheckOperations(model.EventQ(), seq(bad...)) {
				t.Fatalf("the model accepts operation %d with an altered result", i)
			}
		}
		// A firing the reference forbids, appended, is illegal.
		for _, id := range issued {
			if !q.CanFire(id) {
				bad := append(append([]porcupine.Operation(nil), h...), eqFire(id))
				if porcupine.CheckOperations(model.EventQ(), seq(bad...)) {
					t.Fatalf("the model accepts a firing of %d that the reference forbids", id)
				}
				break
			}
		}
	})
}

func TestPartitionEventQ(t *testing.T) {
	h := seq(eqRegister(3, rd, 1, nil), eqRegister(-1, rd, 0, errKernel), eqRegister(4, rd, 2, nil),
		eqFire(2), eqCancel(1, true), eqCancel(9, false), eqRearm(2, nil))
	parts := model.PartitionEventQ(h)
	var sizes []int
	for _, p := range parts {
		sizes = append(sizes, len(p))
	}
	// The failed register alone; then ids 1, 2 and 9 in order of appearance.
	if want := []int{1, 2, 3, 1}; !slices.Equal(sizes, want) {
		t.Fatalf("partition sizes %v, want %v", sizes, want)
	}
}

func TestDescribeEventQOp(t *testing.T) {
	for _, tc := range []struct {
		op   porcupine.Operation
		want string
	}{
		{eqRegister(3, rdOnce, 1, nil), "register(fd 3, Read|OneShot) → 1"},
		{eqRegister(3, spec.EvEdge|spec.EvLevel|spec.EvRead, 0, spec.ErrBadEvents), "register(fd 3, Read|Edge|Level) → eventq: bad event set"},
		{eqCancel(1, true), "cancel(1) → true"},
		{eqFire(2), "fire(2)"},
		{eqRearm(2, nil), "rearm(2) → ok"},
		{eqRearm(2, spec.ErrUnknownID), "rearm(2) → eventq: unknown registration id"},
	} {
		if got := model.DescribeEventQOp(tc.op.Input, tc.op.Output); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if got := model.DescribeEventQOp(model.EventQInput{Op: model.EqCancel, ID: 4}, nil); got != "cancel(4)" {
		t.Errorf("pending call: got %q", got)
	}
	m := model.EventQ()
	_, s := m.Step(m.Init(), model.EventQInput{Op: model.EqRegister, FD: 3, Events: rd}, model.EventQOutput{ID: 1})
	if got := m.DescribeState(s); got != "{1:fd3:Read:armed}" {
		t.Errorf("DescribeState = %q", got)
	}
}

// The model's event-set rule and spec.Events.Check agree on every set of
// the defined bits and a few undefined ones.
func TestEventQModelEventsAgreeWithSpec(t *testing.T) {
	for e := spec.Events(0); e < 1<<13; e++ {
		want := e.Check() == nil
		_, err := new(model.EventQRef).Register(3, e)
		if got := err == nil; got != want {
			t.Fatalf("%v: model accepts = %v, spec.Events.Check accepts = %v", e, got, want)
		}
	}
}

func eqSignal(sigs string, id spec.EventID) porcupine.Operation {
	return porcupine.Operation{Input: model.EventQInput{Op: model.EqRegister, FD: -1, Events: rd, Signals: sigs}, Output: model.EventQOutput{ID: id}}
}

func eqFireSigs(id spec.EventID, got string) porcupine.Operation {
	return porcupine.Operation{Input: model.EventQInput{Op: model.EqFire, ID: id, Signals: got}, Output: model.EventQOutput{}}
}

func eqDeliver(sig string) porcupine.Operation {
	return porcupine.Operation{Input: model.EventQInput{Op: model.EqDeliver, Signals: sig}, Output: model.EventQOutput{}}
}

// Signal numbers, as the histories carry them.
const (
	usr1 = "\x0a"
	usr2 = "\x0c"
)

// Signal registrations: each case names the model bug that would flip
// its verdict.
func TestEventQModelSignals(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    []porcupine.Operation
		ok   bool
	}{
		{"a delivery, then its firing", seq(eqSignal(usr1, 1), eqDeliver(usr1), eqFireSigs(1, usr1)), true},
		{"a firing with no delivery (a model that lets a signal registration fire at will)", seq(
			eqSignal(usr1, 1), eqFireSigs(1, usr1)), false},
		{"a firing that hands out nothing (a model that lets an empty firing through)", seq(
			eqSignal(usr1, 1), eqDeliver(usr1), eqFireSigs(1, "")), false},
		{"one delivery handed out twice (a model that does not take what it hands out)", seq(
			eqSignal(usr1, 1), eqDeliver(usr1), eqFireSigs(1, usr1), eqRearm(1, nil), eqFireSigs(1, usr1)), false},
		{"one delivery handed out twice in one firing", seq(eqSignal(usr1, 1), eqDeliver(usr1), eqFireSigs(1, usr1+usr1)), false},
		{"two deliveries coalesced into one", seq(eqSignal(usr1, 1), eqDeliver(usr1), eqDeliver(usr1), eqFireSigs(1, usr1)), true},
		{"two deliveries handed out in one firing", seq(eqSignal(usr1, 1), eqDeliver(usr1), eqDeliver(usr1), eqFireSigs(1, usr1+usr1)), true},
		{"a signal it does not wait for (a model that adds every delivery)", seq(
			eqSignal(usr1, 1), eqDeliver(usr2), eqFireSigs(1, usr2)), false},
		{"both signals of a registration for both", seq(
			eqSignal(usr1+usr2, 1), eqDeliver(usr2), eqDeliver(usr1), eqFireSigs(1, usr2+usr1)), true},
		{"a delivery while lent, handed out after the rearm", seq(
			eqSignal(usr1, 1), eqDeliver(usr1), eqFireSigs(1, usr1), eqDeliver(usr1), eqRearm(1, nil), eqFireSigs(1, usr1)), true},
		{"a firing after a cancel (a model that forgets cancels for signals)", seq(
			eqSignal(usr1, 1), eqDeliver(usr1), eqCancel(1, true), eqFireSigs(1, usr1)), false},
		{"a delivery before the registration (a model that counts it)", seq(
			eqDeliver(usr1), eqSignal(usr1, 1), eqFireSigs(1, usr1)), false},
		{"an fd registration's firing with signals", seq(eqRegister(3, rd, 1, nil), eqFireSigs(1, usr1)), false},
		{"a delivery begun before the registration, arriving after it (its return is open)", []porcupine.Operation{
			{Input: model.EventQInput{Op: model.EqDeliver, Signals: usr1}, Output: model.EventQOutput{}, Call: 0, Return: 100},
			{Input: model.EventQInput{Op: model.EqRegister, FD: -1, Events: rd, Signals: usr1}, Output: model.EventQOutput{ID: 1}, Call: 1, Return: 2},
			{Input: model.EventQInput{Op: model.EqFire, ID: 1, Signals: usr1}, Output: model.EventQOutput{}, Call: 3, Return: 4},
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperations(model.EventQ(), tc.h); got != tc.ok {
				t.Fatalf("linearizable = %v, want %v", got, tc.ok)
			}
		})
	}
}

// A delivery joins the partition of every registration that waits for its
// signal, and none other; EventQRef counts deliveries as the porcupine
// model does.
func TestEventQSignalPartitionAndRef(t *testing.T) {
	h := seq(eqSignal(usr1, 1), eqRegister(3, rd, 2, nil), eqSignal(usr1+usr2, 3), eqDeliver(usr1), eqDeliver(usr2))
	var sizes []int
	for _, p := range model.PartitionEventQ(h) {
		sizes = append(sizes, len(p))
	}
	if want := []int{2, 1, 3}; !slices.Equal(sizes, want) {
		t.Fatalf("partition sizes %v, want %v", sizes, want)
	}
	var q model.EventQRef
	a, b := q.RegisterSignals(usr1), q.RegisterSignals(usr2+usr1)
	q.Deliver(usr1[0])
	q.Deliver(usr2[0])
	if q.Pending(a) != usr1 || q.Pending(b) != usr1+usr2 {
		t.Fatalf("pending %q %q", q.Pending(a), q.Pending(b))
	}
	if q.Fire(a) || q.FireSignals(a, usr2) || !q.FireSignals(a, usr1) || q.FireSignals(a, usr1) {
		t.Fatal("a signal registration fires with what it has pending, once, then is lent")
	}
	if q.Rearm(a) != nil || q.FireSignals(a, usr1) {
		t.Fatal("a signal handed out is no longer pending")
	}
	if !q.Cancel(b) || q.FireSignals(b, usr1) {
		t.Fatal("a cancelled signal registration fired")
	}
}
