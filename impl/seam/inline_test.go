//go:build !sched

package seam_test

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// callOut matches, in the compiler's assembly listing, a call that the
// seam should have left inlined: a method of sync/atomic's integer and
// bool types (intrinsics once inlined), or a seam function but Go (a
// function with a go statement is never inlined, and starting a goroutine
// costs far more than the call).
var callOut = regexp.MustCompile(`CALL\t(sync/atomic\.\(\*(Int32|Uint32|Int64|Uint64|Bool)\)\.\w+|github\.com/insideout-go/insideout/impl/seam\.(\w+))\(SB\)`)

// In an ordinary build every seam call compiles to the bare atomic
// instruction, with no call left over, in the packages on the hot paths.
// The bugs this catches: a wrapper that outgrew the inliner's budget, and
// a package that lost its blank import of sync/atomic (impl/queue's
// inline.go says why it needs one: without it Push's Add and Pop's Loads
// are calls, which cost a 1p1c queue a third more).
func TestSeamCallsInline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hot packages again with -gcflags=-S")
	}
	pkgs := []string{"queue", "internal/segment", "mailbox", "rt", "pool", "cont", "seq"}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, p := range pkgs {
		out, err := exec.CommandContext(ctx, "go", "build", "-gcflags=-S", "github.com/insideout-go/insideout/impl/"+p).CombinedOutput()
		if err != nil {
			t.Fatalf("go build impl/%s: %v\n%.2000s", p, err, out)
		}
		seen := map[string]int{}
		for _, line := range strings.Split(string(out), "\n") {
			if m := callOut.FindStringSubmatch(line); m != nil && m[3] != "Go" {
				seen[m[1]]++
			}
		}
		for call, n := range seen {
			t.Errorf("impl/%s: %d calls of %s left by the compiler (not inlined)", p, n, call)
		}
	}
}
