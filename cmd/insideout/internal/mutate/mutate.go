// Package mutate is insideout's mutation runner for concurrent Go, the
// insideout mutate command: it makes concurrency-aware mutants of a
// package's code (go/ast and go/types), one change at a time, and runs the
// package's kill steps (its tests, its controlled-schedule tests and
// campaigns) on each, through the go command's -overlay, so that nothing
// is copied and the build cache serves everything the mutant does not
// touch. docs/mutation.md has the operators, the map of steps and the
// figures for insideout's own packages.
package mutate

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Exit statuses.
const (
	exitOK         = 0 // every mutant run was killed, timed out, or is equivalent
	exitSurvivors  = 1 // a mutant survived
	exitUsage      = 2 // the command line was wrong
	exitIncomplete = 3 // interrupted, or a step failed on the unmutated code
)

// config is the command line.
type config struct {
	pkgs, only, ids, mapFile, equiv string
	dir                             string // where to run; the current directory if empty
	list, diff, json, all           bool
	n, j                            int
	seed                            uint64
	timeout                         time.Duration
	patterns                        []string
}

func usage(fs *flag.FlagSet, w io.Writer) func() {
	return func() {
		fmt.Fprintf(w, `usage: insideout mutate [flags] [packages]

Makes concurrency-aware mutants of the packages (default: the one in the
current directory), one change at a time, and runs each package's kill
steps on each mutant until one fails (docs/mutation.md). Operators:
  %s
  %s
Exit status: 0 nothing survived, 1 a mutant survived, 2 usage, 3 incomplete.

Flags:
`, strings.Join(Operators[:6], ", "), strings.Join(Operators[6:], ", "))
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// parseFlags parses args into a config, or returns a usage error.
func parseFlags(args []string, stdout io.Writer) (c *config, help bool, err error) {
	c = &config{}
	fs := flag.NewFlagSet("insideout mutate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.pkgs, "pkg", "", "the packages to mutate, comma-separated `patterns` (as well as, or instead of, arguments)")
	fs.StringVar(&c.only, "only", "", "only these `operators`, comma-separated")
	fs.StringVar(&c.ids, "id", "", "only the mutants with these `IDs`, comma-separated (or their prefixes up to a colon: a file, a function)")
	fs.BoolVar(&c.list, "list", false, "list the mutants, run nothing")
	fs.BoolVar(&c.diff, "diff", false, "with -list, print each mutant's diff")
	fs.BoolVar(&c.json, "json", false, "write the report as JSON")
	fs.BoolVar(&c.all, "all", false, "run every step on every mutant, not only up to the first kill")
	fs.IntVar(&c.n, "n", 0, "run a random sample of `N` mutants (0: all)")
	fs.Uint64Var(&c.seed, "seed", 1, "the sample's seed")
	fs.IntVar(&c.j, "j", 1, "mutants run at once")
	fs.DurationVar(&c.timeout, "timeout", 0, "each step's deadline (0: three times its time on the unmutated code, plus 20s)")
	fs.StringVar(&c.mapFile, "map", "", "a JSON `file` mapping packages to their kill steps (see docs/mutation.md; default: built in for insideout, else each package's tests and its importers')")
	fs.StringVar(&c.equiv, "equiv", "", "the `file` of equivalent mutants (default "+DefaultEquivalents+" in the module, if there)")
	fs.Usage = func() {} // the flag package calls it on every error: one line is enough
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			usage(fs, stdout)()
			return nil, true, nil
		}
		return nil, false, err
	}
	c.patterns = fs.Args()
	for p := range strings.SplitSeq(c.pkgs, ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.patterns = append(c.patterns, p)
		}
	}
	if len(c.patterns) == 0 {
		c.patterns = []string{"."}
	}
	for op := range strings.SplitSeq(c.only, ",") {
		if op = strings.TrimSpace(op); op != "" && !slices.Contains(Operators, op) {
			return nil, false, fmt.Errorf("-only: unknown operator %q (known: %s)", op, strings.Join(Operators, ", "))
		}
	}
	switch {
	case c.n < 0:
		return nil, false, fmt.Errorf("-n must not be negative, not %d", c.n)
	case c.j < 1:
		return nil, false, fmt.Errorf("-j must be at least 1, not %d", c.j)
	case c.timeout < 0:
		return nil, false, fmt.Errorf("-timeout must not be negative, not %v", c.timeout)
	case c.diff && !c.list:
		return nil, false, fmt.Errorf("-diff goes with -list (a run prints the survivors' diffs)")
	}
	return c, false, nil
}

// Main runs insideout mutate with args (after the subcommand), in the
// current directory, and returns its exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return mainIn(ctx, "", args, stdout, stderr)
}

// mainIn is Main, run in dir (the current directory if empty).
func mainIn(ctx context.Context, dir string, args []string, stdout, stderr io.Writer) int {
	c, help, err := parseFlags(args, stdout)
	if help {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "insideout mutate: %v\nsee 'insideout mutate -h'\n", err)
		return exitUsage
	}
	c.dir = dir
	for _, f := range []*string{&c.equiv, &c.mapFile} {
		if dir != "" && *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(dir, *f)
		}
	}
	code, err := c.run(ctx, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "insideout mutate: %v\n", err)
		return exitIncomplete
	}
	return code
}

// selected returns the mutants of pkgs that -only and -id select, the
// stale entries of the list of equivalents, and that list.
func (c *config) selected(pkgs []*pkg) (ms []*Mutant, stale []string, eq map[string]equivalent, err error) {
	var all []*Mutant
	for _, p := range pkgs {
		for _, m := range generate(p) {
			all = append(all, m)
			if c.only != "" && !slices.Contains(strings.Split(c.only, ","), m.Op) || !c.wantID(m.ID) {
				continue
			}
			shown, _ := m.source(p.srcs[m.file], p.fset.Position(p.files[m.file].Name.End()).Offset)
			m.Diff = unified(m.File, string(p.srcs[m.file]), string(shown), 2)
			ms = append(ms, m)
		}
	}
	file, must := c.equiv, c.equiv != ""
	if file == "" {
		file = filepath.Join(pkgs[0].Root, DefaultEquivalents)
	}
	if eq, err = readEquivalents(file, must); err != nil {
		return nil, nil, nil, err
	}
	// Stale against every mutant, not the ones -only and -id selected: an
	// entry outside the selection is not stale for it.
	return ms, staleEquivalents(eq, pkgs, all), eq, nil
}

func (c *config) wantID(id string) bool {
	if c.ids == "" {
		return true
	}
	for want := range strings.SplitSeq(c.ids, ",") {
		want = strings.TrimSpace(want)
		// A prefix selects up to a colon: "f.go:F:cond-invert:1" is not
		// "f.go:F:cond-invert:10".
		if want != "" && strings.HasPrefix(id, want) &&
			(len(id) == len(want) || strings.HasSuffix(want, ":") || id[len(want)] == ':') {
			return true
		}
	}
	return false
}

// run does the work of Main once the flags are good, and returns the
// exit status.
func (c *config) run(ctx context.Context, stdout, stderr io.Writer) (int, error) {
	wd := c.dir
	if wd == "" {
		var err error
		if wd, err = os.Getwd(); err != nil {
			return 0, err
		}
	}
	pkgs, err := loadPackages(ctx, wd, c.patterns)
	if err != nil {
		return 0, err
	}
	ms, stale, eq, err := c.selected(pkgs)
	if err != nil {
		return 0, err
	}
	rep := &Report{Command: "insideout mutate " + strings.Join(os.Args[min(2, len(os.Args)):], " "),
		Module: pkgs[0].Module, Date: time.Now().UTC().Round(time.Second),
		Machine: fmt.Sprintf("%s %s/%s, %d CPUs", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())}
	for _, p := range pkgs {
		rep.Packages = append(rep.Packages, p.ImportPath)
	}
	rep.Stale = stale
	var torun []*Result
	for _, m := range ms {
		r := &Result{Mutant: m}
		if why, ok := equivalentWhy(eq, m); ok {
			r.Status, r.Why = Equivalent, why
		} else {
			torun = append(torun, r)
		}
		rep.Results = append(rep.Results, r)
	}
	if c.n > 0 && c.n < len(torun) {
		rng := rand.New(rand.NewPCG(c.seed, 0))
		rng.Shuffle(len(torun), func(i, j int) { torun[i], torun[j] = torun[j], torun[i] })
		torun = torun[:c.n]
		rep.Results = slices.DeleteFunc(rep.Results, func(r *Result) bool {
			return r.Status != Equivalent && !slices.Contains(torun, r)
		})
	}
	if c.list {
		return exitOK, c.writeList(stdout, rep)
	}
	if err := c.kill(ctx, pkgs, torun, stderr); err != nil {
		return 0, err
	}
	rep.Incomplete = ctx.Err() != nil
	rep.Elapsed = time.Since(rep.Date)
	if c.json {
		if err := rep.WriteJSON(stdout); err != nil {
			return 0, err
		}
	} else {
		rep.WriteText(stdout)
	}
	code := exitOK
	for _, r := range rep.Results {
		if r.Status == Survived {
			code = exitSurvivors
		}
	}
	if rep.Incomplete {
		code = exitIncomplete
	}
	return code, nil
}

// writeList writes the mutants, without running them.
func (c *config) writeList(w io.Writer, rep *Report) error {
	if c.json {
		return rep.WriteJSON(w)
	}
	for _, r := range rep.Results {
		eq := ""
		if r.Status == Equivalent {
			eq = "  [equivalent: " + r.Why + "]"
		}
		fmt.Fprintf(w, "%s\tline %d: %s%s\n", r.ID, r.Line, r.Desc, eq)
		if c.diff {
			fmt.Fprint(w, indent(r.Diff))
		}
	}
	fmt.Fprintf(w, "%d mutants\n", len(rep.Results))
	for _, id := range rep.Stale {
		fmt.Fprintf(w, "stale equivalent entry: %s (no mutant of its file has that ID and description now)\n", id)
	}
	return nil
}

// kill runs the steps of each mutant's package on it, c.j at a time.
func (c *config) kill(ctx context.Context, pkgs []*pkg, torun []*Result, stderr io.Writer) error {
	tmp, err := os.MkdirTemp("", "insideout-mutate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &runner{root: pkgs[0].Root, tmp: tmp, timeout: c.timeout, grace: 15 * time.Second,
		all: c.all, baseline: make(map[string]time.Duration), times: make(map[string]string)}
	km, err := readMap(c.mapFile, pkgs[0].Module)
	if err != nil {
		return err
	}
	steps := make(map[string][]Step)
	byPath := make(map[string]*pkg)
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
		if steps[p.ImportPath], err = stepsFor(ctx, km, p); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "insideout mutate: %d mutants; timing each step on the unmutated code\n", len(torun))
	for _, res := range torun {
		if err := r.measure(ctx, steps[res.Pkg], res.Race, stderr); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	next, done := 0, 0
	var wg sync.WaitGroup
	for range c.j {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(torun) || ctx.Err() != nil {
					return
				}
				res := torun[i]
				*res = *r.run(ctx, byPath[res.Pkg], res.Mutant, i, steps[res.Pkg])
				mu.Lock()
				done++
				fmt.Fprintf(stderr, "[%d/%d] %s: %s %s %s\n", done, len(torun), res.ID, res.Status, res.By,
					res.Time.Round(100*time.Millisecond))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return nil
}
