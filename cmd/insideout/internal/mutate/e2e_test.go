package mutate

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// One run on testdata/fixture, with its test as the kill step: a mutant
// killed, one killed through a dropped error check, one that hangs (a
// break made a continue, so WaitClosed never returns: go test's -timeout
// stops it and dumps the goroutines), one that survives (a Swap split
// into Load and Store: no single-goroutine test can tell), one
// equivalent (listed, with its argument, and not run), and a stale entry
// in the equivalents file. The bugs this catches: a kill not recognised
// (or a pass taken for one), a hang that blocks the run or is counted as
// a kill, an equivalent mutant run or dropped, a survivor without its
// diff, a wrong exit status.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on the fixture's mutants")
	}
	t.Parallel()
	var out, errb bytes.Buffer
	args := []string{"-json", "-only", "cas-store,swap-split,err-ignored,break-continue",
		"-equiv", "equivalent.txt", "-timeout", "3s", "."}
	code := mainIn(context.Background(), fixture, args, &out, &errb)
	if code != exitSurvivors {
		t.Fatalf("exit %d, want %d (a survivor)\nstdout:\n%s\nstderr:\n%s", code, exitSurvivors, out.String(), errb.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	got := make(map[string]*Result)
	for _, r := range rep.Results {
		got[r.ID] = r
	}
	want := map[string]string{
		"box.go:New:cas-store:1":                 Equivalent,
		"box.go:Box.Close:cas-store:1":           Killed,
		"box.go:Box.Put:swap-split:1":            Survived,
		"box.go:Box.CloseTwice:err-ignored:1":    Killed,
		"box.go:Box.WaitClosed:break-continue:1": TimedOut,
	}
	if len(got) != len(want) {
		t.Errorf("%d results, want %d: %s", len(got), len(want), out.String())
	}
	for id, status := range want {
		r := got[id]
		switch {
		case r == nil:
			t.Errorf("%s: no result", id)
		case r.Status != status:
			t.Errorf("%s: %s (%s), want %s", id, r.Status, r.Why, status)
		case status == Killed && (r.By != "tests" || r.Time <= 0 || !strings.Contains(r.Why, "FAIL")):
			t.Errorf("%s: killed by %q in %v (%s), want by tests, timed, with the failure", id, r.By, r.Time, r.Why)
		case status == TimedOut && !strings.Contains(r.Dump, "WaitClosed"):
			t.Errorf("%s: timed out without a dump showing WaitClosed:\n%s", id, r.Dump)
		case status == Survived && !strings.Contains(r.Diff, "+func (b *Box) Put(v int64) int64 { return ioMutSwap(b.last.Load, b.last.Store, v) }"):
			t.Errorf("%s: survivor's diff is\n%s", id, r.Diff)
		case status == Equivalent && !strings.Contains(r.Why, "no one else can see b"):
			t.Errorf("%s: equivalent without its argument: %q", id, r.Why)
		}
	}
	if len(rep.Stale) != 1 || rep.Stale[0] != "box.go:Gone:cas-store:1" {
		t.Errorf("stale entries %q, want box.go:Gone:cas-store:1", rep.Stale)
	}
	// The text report carries the same, in its table and lists.
	var text bytes.Buffer
	rep.WriteText(&text)
	for _, s := range []string{"swap-split", "Survivors:", "ioMutSwap(b.last.Load", "Equivalent (not run):",
		"no one else can see b", "Timed out", "3 of 4 detected (75.0%", "Stale equivalent entries"} {
		if !strings.Contains(text.String(), s) {
			t.Errorf("the text report lacks %q:\n%s", s, text.String())
		}
	}
}
