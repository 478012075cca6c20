//go:build !sched && !chaos

package eventq_test

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pointCall matches, in the compiler's assembly listing, a call of a
// chaos point that an ordinary build should have inlined away: the
// queue's perturb, impl/chaos's Point, impl/seam's Point.
var pointCall = regexp.MustCompile(`CALL\t(github\.com/insideout-go/insideout/impl/(eventq\.perturb|chaos\.Point|seam\.Point))\(SB\)`)

// pointCalls returns the calls of chaos points left in listing.
func pointCalls(listing string) map[string]int {
	seen := map[string]int{}
	for _, line := range strings.Split(listing, "\n") {
		if m := pointCall.FindStringSubmatch(line); m != nil {
			seen[m[1]]++
		}
	}
	return seen
}

// In an ordinary build the queue's chaos points cost nothing: every one
// is inlined away, no call left (impl/seam's TestSeamCallsInline does the
// same for the hot packages). The bug this catches: a point that is not
// inlined (a perturb that grew, a point made through a func value), which
// would put a call on every queue operation. The matcher is shown to find
// such a call in a listing that has one.
func TestPointsInline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds impl/eventq again with -gcflags=-S")
	}
	bad := "\t0x0012 00018 (wait.go:51)\tCALL\tgithub.com/insideout-go/insideout/impl/eventq.perturb(SB)"
	if n := pointCalls(bad)["github.com/insideout-go/insideout/impl/eventq.perturb"]; n != 1 {
		t.Fatalf("the matcher missed a call of perturb in %q", bad)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "build", "-gcflags=-S", "github.com/insideout-go/insideout/impl/eventq").CombinedOutput()
	if err != nil {
		t.Fatalf("go build impl/eventq: %v\n%.2000s", err, out)
	}
	if !strings.Contains(string(out), "eventq.(*Queue).Wait") {
		t.Fatalf("the listing has no Wait: not the listing of impl/eventq?\n%.2000s", out)
	}
	for call, n := range pointCalls(string(out)) {
		t.Errorf("impl/eventq: %d calls of %s left by the compiler (not inlined)", n, call)
	}
}
