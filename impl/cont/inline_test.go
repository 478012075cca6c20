//go:build !sched && !chaos

package cont_test

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// pointCall matches, in the compiler's assembly listing, a call of the
// seam's or chaos's Point.
var pointCall = regexp.MustCompile(`CALL\t(github\.com/insideout-go/insideout/impl/(seam|chaos)\.Point)\(SB\)`)

// The points that impl/cont and impl/seq pass (a move published, a call's
// result written, a sequential continuation busy) compile to nothing in an
// ordinary build: not one call of seam.Point or chaos.Point is left in
// either package, so that they cost the ordinary build nothing. The bug
// this catches: a point in a closure that the compiler copies where the
// function making it is inlined (moveTo into Goto and NewRoute), whose
// calls it then leaves uninlined: seam.Point written bare there left ten
// such calls, on the path of every Goto and GotoRoute.
func TestPointsCompileAway(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	if testing.Short() {
		t.Skip("builds impl/cont and impl/seq again with -gcflags=-S")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for _, p := range []string{"cont", "seq"} {
		out, err := exec.CommandContext(ctx, "go", "build", "-gcflags=-S", "github.com/insideout-go/insideout/impl/"+p).CombinedOutput()
		if err != nil {
			t.Fatalf("go build impl/%s: %v\n%.2000s", p, err, out)
		}
		fn, seen := "", map[string]int{}
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, " STEXT ") {
				fn, _, _ = strings.Cut(line, " ")
			}
			if m := pointCall.FindStringSubmatch(line); m != nil {
				seen[m[1]+" in "+fn]++
			}
		}
		for call, n := range seen {
			t.Errorf("impl/%s: %d calls of %s left by the compiler", p, n, call)
		}
	}
}
