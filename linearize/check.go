package linearize

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
)

// A Checked is the verdict on one history, with what is needed to explain
// an Illegal one.
type Checked struct {
	Verdict Verdict
	Ops     int // operations in the history
	// Err is a mistake of the model met while checking (a function of it
	// that panicked, an output of the wrong type): the verdict is then
	// Unknown, and says nothing of the code under test.
	Err error

	model porcupine.Model
	info  porcupine.LinearizationInfo
}

// Check decides whether history is linearizable with respect to model,
// giving up after timeout (0 means no limit), in which case the verdict is
// Unknown. The verdict is Illegal only when porcupine proves that no legal
// linearization exists. The model's functions run guarded: a panic in one
// becomes the Checked's Err, not a crash.
func Check(model porcupine.Model, history []porcupine.Operation, timeout time.Duration) Checked {
	return check[any, any](Porcupine[any, any](model), history, timeout)
}

// check is Check against a Spec.
func check[In, Out any](sp Spec[In, Out], history []porcupine.Operation, timeout time.Duration) Checked {
	g := new(guard)
	model, err := sp.model(g)
	if err != nil {
		return Checked{Verdict: Unknown, Ops: len(history), Err: err}
	}
	c := Checked{Ops: len(history), model: model}
	switch porcupine.CheckOperationsTimeout(model, history, timeout) {
	case porcupine.Ok:
		c.Verdict = Ok
	case porcupine.Unknown:
		c.Verdict = Unknown
	default:
		// Check again, keeping the partial linearizations that the report
		// draws. The search is deterministic, so it reaches the same
		// verdict; allow it the same time again.
		_, info := porcupine.CheckOperationsVerbose(model, history, timeout)
		c.Verdict, c.info = Illegal, info
	}
	if err := g.Err(); err != nil {
		return Checked{Verdict: Unknown, Ops: len(history), Err: err}
	}
	return c
}

// WriteReport writes porcupine's HTML visualization of an Illegal history to
// path, creating its directory. It shows every client's operations on a
// time line and the longest prefixes that the model accepts, so the reader
// sees where no legal order could go on.
func (c Checked) WriteReport(path string) error {
	if c.Verdict != Illegal {
		return fmt.Errorf("linearize: no report for a %v verdict", c.Verdict)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return porcupine.VisualizePath(c.model, c.info, path)
}

// DefaultReportDir is where reports go when a Scenario names no directory:
// $INSIDEOUT_REPORT_DIR if set, else insideout-reports in the system's
// temporary directory.
func DefaultReportDir() string {
	if d := os.Getenv("INSIDEOUT_REPORT_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), "insideout-reports")
}
