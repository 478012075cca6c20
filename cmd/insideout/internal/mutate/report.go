package mutate

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// A Report is a run's outcome, as -json writes it.
type Report struct {
	Command    string        `json:"command"`
	Module     string        `json:"module"`
	Machine    string        `json:"machine"` // Go version, OS and architecture, CPUs
	Elapsed    time.Duration `json:"elapsed_ns"`
	Date       time.Time     `json:"date"`
	Packages   []string      `json:"packages"`
	Results    []*Result     `json:"results"`
	Stale      []string      `json:"stale_equivalents,omitempty"`
	Incomplete bool          `json:"incomplete,omitempty"`
}

// tally counts results by status.
type tally struct {
	made, killed, timedOut, survived, equiv, unbuildable, notRun int
	kills                                                        []time.Duration
}

func (t *tally) add(r *Result) {
	t.made++
	switch r.Status {
	case Killed:
		t.killed++
		t.kills = append(t.kills, r.Time)
	case TimedOut:
		t.timedOut++
	case Survived:
		t.survived++
	case Equivalent:
		t.equiv++
	case Unbuildable:
		t.unbuildable++
	default:
		t.notRun++
	}
}

// detected returns killed plus timed out, over the mutants that count:
// neither equivalent nor unbuildable, and run.
func (t *tally) detected() (int, int) {
	return t.killed + t.timedOut, t.killed + t.timedOut + t.survived
}

func median(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return m.Round(100 * time.Millisecond).String()
}

func (t *tally) row(w io.Writer, pkg, op string) {
	fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", pkg, op, t.made, t.killed, t.timedOut,
		t.survived, t.equiv, t.unbuildable, median(t.kills))
}

// WriteText writes the report's tables, then the survivors with their
// diffs, the timeouts with their dumps, the equivalent mutants with their
// arguments and the unbuildable ones with their errors.
func (rep *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%s\n%s, %s, %s\n\n", rep.Command, rep.Date.Format("2006-01-02 15:04 MST"),
		rep.Elapsed.Round(time.Second), rep.Machine)
	var total tally
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "package\toperator\tmade\tkilled\ttimed out\tsurvived\tequivalent\tunbuildable\tmedian kill\t")
	for _, p := range rep.Packages {
		var pt tally
		for _, op := range Operators {
			var t tally
			for _, r := range rep.Results {
				if r.Pkg == p && r.Op == op {
					t.add(r)
					pt.add(r)
					total.add(r)
				}
			}
			if t.made > 0 {
				t.row(tw, rep.short(p), op)
			}
		}
		pt.row(tw, rep.short(p), "all")
	}
	if len(rep.Packages) > 1 {
		total.row(tw, "all", "all")
	}
	tw.Flush()
	det, of := total.detected()
	pct := 100.0
	if of > 0 {
		pct = 100 * float64(det) / float64(of)
	}
	fmt.Fprintf(w, "\n%d mutants: %d of %d detected (%.1f%%: %d killed, %d timed out), %d survived, %d equivalent, %d unbuildable",
		total.made, det, of, pct, total.killed, total.timedOut, total.survived, total.equiv, total.unbuildable)
	if total.notRun > 0 {
		fmt.Fprintf(w, ", %d not run (interrupted)", total.notRun)
	}
	fmt.Fprintf(w, "; median time to kill %s\n", median(total.kills))
	rep.writeSteps(w)
	rep.writeLists(w)
}

// writeSteps writes which step killed how many mutants, how fast.
func (rep *Report) writeSteps(w io.Writer) {
	var names []string
	kills := make(map[string][]time.Duration)
	hangs := make(map[string]int)
	for _, r := range rep.Results {
		if r.By == "" {
			continue
		}
		if !slices.Contains(names, r.By) {
			names = append(names, r.By)
		}
		if r.Status == TimedOut {
			hangs[r.By]++
		} else {
			kills[r.By] = append(kills[r.By], r.Time)
		}
	}
	if len(names) == 0 {
		return
	}
	fmt.Fprintln(w, "\nfirst kill by step:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tkilled\ttimed out\tmedian kill\t")
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t\n", n, len(kills[n]), hangs[n], median(kills[n]))
	}
	tw.Flush()
}

// writeLists writes the survivors, timeouts, equivalent, unbuildable and
// stale entries.
func (rep *Report) writeLists(w io.Writer) {
	section := func(title string, status string, f func(r *Result)) {
		first := true
		for _, r := range rep.Results {
			if r.Status != status {
				continue
			}
			if first {
				fmt.Fprintf(w, "\n%s:\n", title)
				first = false
			}
			f(r)
		}
	}
	section("Survivors", Survived, func(r *Result) {
		fmt.Fprintf(w, "\n%s  (line %d: %s)\n%s", r.ID, r.Line, r.Desc, indent(r.Diff))
	})
	section("Timed out (detected, by a hang)", TimedOut, func(r *Result) {
		fmt.Fprintf(w, "\n%s  (line %d: %s)\n  by %s after %s: %s\n%s\n", r.ID, r.Line, r.Desc, r.By,
			r.Time.Round(100*time.Millisecond), r.Why, indent(head(r.Dump, 12)))
	})
	section("Equivalent (not run)", Equivalent, func(r *Result) {
		fmt.Fprintf(w, "  %s: %s\n", r.ID, r.Why)
	})
	section("Unbuildable (not counted)", Unbuildable, func(r *Result) {
		fmt.Fprintf(w, "  %s: %s\n", r.ID, r.Why)
	})
	if len(rep.Stale) > 0 {
		fmt.Fprintln(w, "\nStale equivalent entries (no such mutant: look again):")
		for _, id := range rep.Stale {
			fmt.Fprintf(w, "  %s\n", id)
		}
	}
}

// WriteJSON writes the report as JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// short drops the module's path from an import path.
func (rep *Report) short(p string) string {
	if rest, ok := strings.CutPrefix(p, rep.Module+"/"); ok {
		return rest
	}
	return p
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

func head(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
