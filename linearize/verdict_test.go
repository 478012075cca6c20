package linearize_test

import (
	"testing"

	"github.com/insideout-go/insideout/linearize"
)

// Verdicts print as their names in every report and table.
func TestVerdictString(t *testing.T) {
	for v, want := range map[linearize.Verdict]string{linearize.Ok: "Ok", linearize.Illegal: "Illegal", linearize.Unknown: "Unknown", 9: "Verdict(?)"} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", v, got, want)
		}
	}
}
