package spec_test

import (
	"testing"

	"github.com/insideout-go/insideout/spec"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Verdicts print as their names in every report and table.
func TestVerdictString(t *testing.T) {
	for v, want := range map[spec.Verdict]string{spec.Ok: "Ok", spec.Illegal: "Illegal", spec.Unknown: "Unknown", 9: "Verdict(?)"} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", v, got, want)
		}
	}
}
