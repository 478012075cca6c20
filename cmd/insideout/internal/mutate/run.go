package mutate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Outcomes of a mutant, and of one step on it.
const (
	Killed      = "killed"      // a step failed
	TimedOut    = "timed out"   // a step hung: go test's -timeout, verify's INCOMPLETE, or the hard deadline
	Survived    = "survived"    // every step passed
	Equivalent  = "equivalent"  // listed as equivalent, with its argument: not run
	Unbuildable = "unbuildable" // the mutant does not compile: not counted
	Passed      = "passed"      // a step passed
)

// A StepResult is what one step did to one mutant.
type StepResult struct {
	Step    string        `json:"step"`
	Outcome string        `json:"outcome"`
	Time    time.Duration `json:"ns"`
	Why     string        `json:"why,omitempty"` // the first line of the failure
}

// A Result is what became of one mutant.
type Result struct {
	*Mutant
	Status string        `json:"status"`
	By     string        `json:"by,omitempty"` // the step that killed it, or timed out
	Time   time.Duration `json:"ns,omitempty"` // from the start of its build to its kill
	Why    string        `json:"why,omitempty"`
	Dump   string        `json:"dump,omitempty"` // a timed out step's goroutine dump, its head
	Steps  []StepResult  `json:"steps,omitempty"`
}

// timesEnv is internal/testdeadline's TimesEnv: a test binary of insideout
// reads the tests' times on the unmutated code from the file it names.
const timesEnv = "INSIDEOUT_TEST_TIMES"

// A runner runs steps on mutants.
type runner struct {
	root     string        // the module's root
	tmp      string        // scratch directory
	timeout  time.Duration // per step; 0: from the baseline
	grace    time.Duration // past a step's deadline, before it is killed
	all      bool          // run every step, not only up to the first kill
	baseline map[string]time.Duration
	// times holds, per step key, the file of the times each test took on
	// the unmutated code (a go test step's), for testdeadline.TimesEnv.
	times map[string]string
}

// deadline returns how long step s may take.
func (r *runner) deadline(s Step, race bool) time.Duration {
	if r.timeout > 0 {
		return r.timeout
	}
	return 3*r.baseline[stepKey(s, race && s.Race)] + 20*time.Second
}

func stepKey(s Step, race bool) string { return fmt.Sprint(s.Name, s.Args, race) }

// command returns the go arguments of s for a mutant whose overlay is
// overlay (none if empty).
func (r *runner) command(s Step, overlay string, race bool, deadline time.Duration) []string {
	args := []string{s.Args[0]}
	if overlay != "" {
		args = append(args, "-overlay="+overlay)
	}
	if s.Args[0] == "test" {
		if !slices.Contains(s.Args, "-count=1") {
			args = append(args, "-count=1")
		}
		if deadline > 0 {
			args = append(args, "-timeout="+deadline.String())
		}
		if overlay != "" && !slices.Contains(s.Args, "-failfast") {
			// A mutant is killed by its first failing test: the tests
			// after it (and their time) would change nothing.
			args = append(args, "-failfast")
		}
	}
	if race && s.Race {
		args = append(args, "-race")
	}
	return append(args, s.Args[1:]...)
}

// measure runs each step once on the unmutated code, recording its time,
// and for a go test step each test's time, in a file that each mutant's
// run of the step gets as testdeadline's TimesEnv: a test of insideout's
// that hangs on a mutant then fails a few times past its own time, not at
// the step's deadline. A step that fails there is an error, since it
// would kill every mutant.
func (r *runner) measure(ctx context.Context, steps []Step, race bool, log io.Writer) error {
	for _, s := range steps {
		key := stepKey(s, race && s.Race)
		if _, ok := r.baseline[key]; ok {
			continue
		}
		args := r.command(s, "", race, 10*time.Minute)
		if s.Args[0] == "test" {
			args = slices.Insert(args, 1, "-json")
		}
		out, took, err := r.exec(ctx, args, 10*time.Minute, nil)
		times, text := testTimes(out)
		if err != nil {
			return fmt.Errorf("baseline: step %q (go %s) fails on the unmutated code: %v\n%s",
				s.Name, strings.Join(r.command(s, "", race, 0), " "), err, tail(text, 20))
		}
		r.baseline[key] = took
		if len(times) > 0 {
			path := filepath.Join(r.tmp, fmt.Sprintf("times-%d", len(r.times)))
			if err := os.WriteFile(path, times, 0o644); err != nil {
				return err
			}
			r.times[key] = path
		}
		fmt.Fprintf(log, "  %s: %s on the unmutated code\n", stepName(s, race), took.Round(100*time.Millisecond))
	}
	return nil
}

// testTimes reads go test -json's output: it returns the time of each
// test that passed, as testdeadline's TimesEnv file has them (the longest,
// for a name two packages share), and the output's text.
func testTimes(out []byte) (times, text []byte) {
	elapsed := map[string]float64{}
	var b bytes.Buffer
	for line := range bytes.Lines(out) {
		var ev struct {
			Action, Test, Output string
			Elapsed              float64
		}
		if !bytes.HasPrefix(line, []byte("{")) || json.Unmarshal(line, &ev) != nil {
			b.Write(line) // the go command's own output: build errors
			continue
		}
		b.WriteString(ev.Output)
		if ev.Action == "pass" && ev.Test != "" {
			elapsed[ev.Test] = max(elapsed[ev.Test], ev.Elapsed)
		}
	}
	var t bytes.Buffer
	for _, name := range slices.Sorted(maps.Keys(elapsed)) {
		fmt.Fprintf(&t, "%g %s\n", elapsed[name], name)
	}
	return t.Bytes(), b.Bytes()
}

// errDeadline is the error of a command killed at its hard deadline.
var errDeadline = errors.New("killed at its deadline")

// exec runs go with args in the module's root, in a process group of its
// own that it kills past deadline plus grace (first SIGQUIT, for a
// goroutine dump, then SIGKILL). It returns the combined output.
func (r *runner) exec(ctx context.Context, args []string, deadline time.Duration, env []string) ([]byte, time.Duration, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = r.root
	// rapid writes a fail file under the package's testdata for every
	// failing property: a killed mutant's would be left in the user's tree.
	cmd.Env = append(append(os.Environ(), "RAPID_NOFAILFILE=1"), env...)
	if slices.Contains(args, "-race") {
		// A mutant's first race ends the run: its report is the kill, and
		// a plain access in a hot path would otherwise report on and on.
		cmd.Env = append(cmd.Env, "GORACE=halt_on_error=1 "+os.Getenv("GORACE"))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	setGroup(cmd)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The deadline bounds the test binary (go test's -timeout); the
	// command also compiles and links, which a loaded machine slows.
	timer := time.NewTimer(2*deadline + r.grace)
	defer timer.Stop()
	select {
	case err := <-done:
		return out.Bytes(), time.Since(start), err
	case <-ctx.Done():
		killGroup(cmd, false)
		<-done
		return out.Bytes(), time.Since(start), ctx.Err()
	case <-timer.C:
	}
	killGroup(cmd, true)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		killGroup(cmd, false)
		<-done
	}
	return out.Bytes(), time.Since(start), errDeadline
}

// mutant writes m's file and the overlay that puts it in place of the
// original, and returns the overlay's path.
func (r *runner) mutant(p *pkg, m *Mutant, n int) (string, error) {
	_, full := m.source(p.srcs[m.file], p.fset.Position(p.files[m.file].Name.End()).Offset)
	dir := filepath.Join(r.tmp, fmt.Sprint("m", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(dir, p.GoFiles[m.file])
	if err := os.WriteFile(name, full, 0o644); err != nil {
		return "", err
	}
	ov, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(p.Dir, p.GoFiles[m.file]): name}})
	if err != nil {
		return "", err
	}
	overlay := filepath.Join(dir, "overlay.json")
	return overlay, os.WriteFile(overlay, ov, 0o644)
}

// run builds mutant m of p and runs steps on it.
func (r *runner) run(ctx context.Context, p *pkg, m *Mutant, n int, steps []Step) *Result {
	res := &Result{Mutant: m}
	overlay, err := r.mutant(p, m, n)
	if err != nil {
		res.Status, res.Why = Unbuildable, err.Error()
		return res
	}
	defer os.RemoveAll(filepath.Dir(overlay))
	start := time.Now()
	dir := "./" + p.Rel
	if out, _, err := r.exec(ctx, []string{"build", "-overlay=" + overlay, dir}, 5*time.Minute, nil); err != nil {
		res.Status, res.Why = Unbuildable, compileError(out)
		return res
	}
	res.Status = Survived
	for _, s := range steps {
		if ctx.Err() != nil {
			res.Status = ""
			return res
		}
		d := r.deadline(s, m.Race)
		var env []string
		if path, ok := r.times[stepKey(s, m.Race && s.Race)]; ok {
			env = []string{timesEnv + "=" + path}
		}
		out, took, err := r.exec(ctx, r.command(s, overlay, m.Race, d), d, env)
		sr := StepResult{Step: stepName(s, m.Race), Outcome: Passed, Time: took}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			res.Status = ""
			return res
		case strings.Contains(string(out), "[build failed]") || strings.Contains(string(out), "[setup failed]"):
			sr.Outcome, sr.Why = Unbuildable, compileError(out)
		case bytes.Contains(out, []byte("WARNING: DATA RACE")):
			sr.Outcome, sr.Why = Killed, failure(out)
		case errors.Is(err, errDeadline) || bytes.Contains(out, []byte("panic: test timed out")) ||
			bytes.Contains(out, []byte("verify: INCOMPLETE")):
			sr.Outcome, sr.Why = TimedOut, failure(out)
			res.Dump = dump(out, p.ImportPath)
		case bytes.Contains(out, []byte("testdeadline: still running after")):
			// A test's own deadline: a hang, reported as the test's failure.
			sr.Outcome, sr.Why = Killed, failure(out)
			res.Dump = dump(out, p.ImportPath)
		default:
			sr.Outcome, sr.Why = Killed, failure(out)
		}
		res.Steps = append(res.Steps, sr)
		if sr.Outcome == Passed {
			continue
		}
		if res.Status == Survived {
			res.Status, res.By, res.Why, res.Time = sr.Outcome, sr.Step, sr.Why, time.Since(start)
		}
		if !r.all {
			break
		}
	}
	return res
}

// stepName names s as run on a mutant: with +race where race applies.
func stepName(s Step, race bool) string {
	if race && s.Race {
		return s.Name + " -race"
	}
	return s.Name
}

// compileError returns the first compiler error in out.
func compileError(out []byte) string {
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.Contains(line, ".go:") {
			return strings.TrimSpace(line)
		}
	}
	return firstLine(string(out))
}

// failure returns the line of out that says why a step failed.
func failure(out []byte) string {
	prefixes := []string{"WARNING: DATA RACE", "panic:", "fatal error:", "--- FAIL", "verify: FAIL", "verify: INCOMPLETE", "FAIL"}
	lines := strings.Split(string(out), "\n")
	for _, p := range prefixes {
		for i, line := range lines {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, p) {
				continue
			}
			if p == "--- FAIL" && i+1 < len(lines) {
				return line + ": " + strings.TrimSpace(lines[i+1])
			}
			return line
		}
	}
	return firstLine(tail(out, 1))
}

// dump returns the goroutines of the dump in out whose stacks run code of
// package path (or, if none does, those that run code other than the
// testing package's, the runtime's and goleak's), at most 40 lines.
func dump(out []byte, path string) string {
	s := string(out)
	i := strings.Index(s, "\ngoroutine ")
	if i < 0 {
		return ""
	}
	var own, other []string
	for _, g := range strings.Split(s[i+1:], "\n\n") {
		if !strings.HasPrefix(g, "goroutine ") {
			break
		}
		if strings.Contains(g, "\n"+path+".") {
			own = append(own, g)
			continue
		}
		for _, line := range strings.Split(g, "\n")[1:] {
			if !strings.HasPrefix(line, "\t") && !strings.HasPrefix(line, "created by ") && !hasAnyPrefix(line,
				"testing.", "runtime.", "time.", "go.uber.org/goleak.", "main.main") {
				other = append(other, g)
				break
			}
		}
	}
	if len(own) == 0 {
		own = other
	}
	lines := strings.Split(strings.Join(own, "\n\n"), "\n")
	return strings.Join(lines[:min(len(lines), 40)], "\n")
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// tail returns the last n lines of out.
func tail(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
