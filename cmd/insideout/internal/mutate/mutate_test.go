package mutate

import (
	"bytes"
	"context"
	"flag"
	"go/importer"
	"go/parser"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var update = flag.Bool("update", false, "rewrite testdata/ops.golden")

// fixture is the module under testdata that the tests mutate.
const fixture = "testdata/fixture"

func load(t *testing.T, dir string, patterns ...string) []*pkg {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := loadPackages(context.Background(), abs, patterns)
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// golden renders every mutant of p: ID, description, diff.
func golden(p *pkg) string {
	var sb strings.Builder
	for _, m := range generate(p) {
		shown, _ := m.source(p.srcs[m.file], p.fset.Position(p.files[m.file].Name.End()).Offset)
		sb.WriteString(m.ID + ": " + m.Desc + "\n")
		sb.WriteString(unified(m.File, string(p.srcs[m.file]), string(shown), 1))
	}
	return sb.String()
}

// The mutants of testdata/fixture/ops, one or more cases of each operator,
// diff for diff. The bugs this catches: an operator that mutates the wrong
// node, writes the wrong text, stops firing, or fires where it should not
// (a mutant appears or disappears); and IDs that change, which would
// orphan the entries of the equivalents file. Rewrite with -update, and
// read the diff.
func TestOperatorsGolden(t *testing.T) {
	got := golden(load(t, fixture, "./ops")[0])
	file := filepath.Join("testdata", "ops.golden")
	if *update {
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("mutants of ops differ from %s (go test -run TestOperatorsGolden -update, then read the diff):\n%s",
			file, unified("ops.golden", string(want), got, 2))
	}
}

// Every operator has a case in the fixture, so the golden test covers
// them all, and recognises sync/atomic's methods and functions and a
// package named impl/seam. The bug: an operator that never fires (its
// recogniser broken) and is missed because no golden case exercises it.
func TestEveryOperatorFires(t *testing.T) {
	p := load(t, fixture, "./ops")[0]
	counts := make(map[string]int)
	var seamForm, atomicFn bool
	for _, m := range generate(p) {
		counts[m.Op]++
		seamForm = seamForm || strings.Contains(m.Desc, "seam.SwapPointer")
		atomicFn = atomicFn || strings.Contains(m.Desc, "atomic.CompareAndSwapInt32")
	}
	for _, op := range Operators {
		if counts[op] == 0 {
			t.Errorf("operator %s made no mutant of ops", op)
		}
	}
	// The data races run their race steps under -race, and only they (a
	// read moved out of its lock was once left to the tests without it,
	// where two of the event queue's survived).
	for _, m := range generate(p) {
		want := m.Op == OpAtomicPlain || m.Op == OpStoreLate || m.Op == OpStoreEarly || m.Op == OpReadUnlocked
		if m.Race != want {
			t.Errorf("%s: Race %v, want %v", m.ID, m.Race, want)
		}
	}
	if !seamForm || !atomicFn {
		t.Errorf("no mutant of seam.SwapPointer (%v) or of atomic.CompareAndSwapInt32 (%v)", seamForm, atomicFn)
	}
}

// Every mutant of the fixtures and of impl/queue and impl/mailbox
// type-checks, helpers included. The bug: a mutant that does not compile
// (a helper with the wrong signature, &x of a pointer, a name left
// unused), which the runner would report unbuildable instead of running.
func TestMutantsCompile(t *testing.T) {
	pkgs := append(load(t, fixture, "./ops", "."), load(t, "../../../..", "./impl/queue", "./impl/mailbox")...)
	t.Parallel()
	for _, p := range pkgs {
		imp := importer.ForCompiler(p.fset, "gc", p.open)
		ms := generate(p)
		if len(ms) == 0 {
			t.Errorf("%s: no mutants", p.ImportPath)
		}
		for _, m := range ms {
			if err := typeCheck(p, m, imp); err != nil {
				t.Errorf("%s does not compile: %v\n%s", m.ID, err, m.Diff)
			}
		}
	}
}

// typeCheck type-checks p with m applied, importing through imp.
func typeCheck(p *pkg, m *Mutant, imp types.Importer) error {
	_, src := m.source(p.srcs[m.file], p.fset.Position(p.files[m.file].Name.End()).Offset)
	f, err := parser.ParseFile(p.fset, p.GoFiles[m.file], src, 0)
	if err != nil {
		return err
	}
	files := slices.Clone(p.files)
	files[m.file] = f
	_, err = (&types.Config{Importer: imp}).Check(p.ImportPath, p.fset, files, nil)
	return err
}

// Equivalent mutants are read with their arguments and descriptions,
// never without one, and an entry that names no mutant of a file it
// covers, or a mutant whose description is no longer the entry's, is
// stale. The bugs: an entry silently accepted with no reason; one left
// behind after the code changed and silently matching nothing; one whose
// ID a rewrite gave to another mutant, silently not run.
func TestEquivalents(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		f := filepath.Join(dir, "eq.txt")
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, bad := range []string{
		"a.go:F:cas-store:1\n",                // no description, no argument
		"a.go:F:cas-store:1 `x becomes y`\n",  // no argument
		"a.go:F:cas-store:1 no one sees it\n", // no description
		"a.go:F:cas-store:1 `x becomes y no one sees it\n",
		"x `d` because\nx `d` because again\n", // listed twice
	} {
		if _, err := readEquivalents(write(bad), true); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if _, err := readEquivalents(filepath.Join(dir, "none.txt"), true); err == nil {
		t.Error("a missing -equiv file was accepted")
	}
	const (
		put   = "box.go:Box.Put:swap-split:1 `b.last.Swap(v) becomes a Load, then a Store` the Put races with nothing\n"
		newOK = "box.go:New:cas-store:1 `b.last.CompareAndSwap(0, -1) becomes a Store that reports success` no one sees it\n"
		moved = "box.go:Box.Close:cas-store:1 `b.closed.Swap(true) becomes a Load, then a Store` argued for the code before\n"
		old   = "box.go:Old:cas-store:1 `x becomes y` gone\n"
	)
	eq, err := readEquivalents(write("# comment\n\n"+newOK+moved+old+"other.go:F:x:1 `d` not ours\n"), true)
	if err != nil {
		t.Fatal(err)
	}
	if e := eq["box.go:New:cas-store:1"]; e.why != "no one sees it" || e.desc != "b.last.CompareAndSwap(0, -1) becomes a Store that reports success" {
		t.Errorf("entry read as %+v", e)
	}
	pkgs := load(t, fixture, ".")
	want := []string{"box.go:Box.Close:cas-store:1", "box.go:Old:cas-store:1"}
	if stale := staleEquivalents(eq, pkgs, generate(pkgs[0])); !slices.Equal(stale, want) {
		t.Errorf("stale entries %q, want %q", stale, want)
	}
	// -only or -id narrow the run, not what is stale: box.go:New's entry
	// names a mutant that exists, whichever the selection. (The bug: every
	// equivalent outside an -id selection reported stale.) An entry whose
	// description no longer matches is run, not skipped.
	c := &config{ids: "box.go:Box.Put:,box.go:Box.Close:", equiv: write(newOK + moved + old + put)}
	ms, stale, eq, err := c.selected(pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || len(ms) >= len(generate(pkgs[0])) {
		t.Fatalf("-id selected %d mutants", len(ms))
	}
	if !slices.Equal(stale, want) {
		t.Errorf("under -id, stale entries %q, want %q", stale, want)
	}
	for _, m := range ms {
		if _, got := equivalentWhy(eq, m); got != (m.ID == "box.go:Box.Put:swap-split:1") {
			t.Errorf("%s: equivalent %v", m.ID, got)
		}
	}
}

// The unified diff of a one-line change has its context and its hunk
// header right. The bug: survivors' diffs that point at the wrong lines.
func TestUnified(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n"
	b := "1\n2\n3\nfour\n5\n6\n7\n8\nnine\n"
	want := "--- a/f\n+++ b/f\n@@ -3,3 +3,3 @@\n 3\n-4\n+four\n 5\n@@ -8,2 +8,2 @@\n 8\n-9\n+nine\n"
	if got := unified("f", a, b, 1); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// Bad command lines get one line and exit status 2; -h the usage and 0.
// The bug: a typo in a flag running the whole (long) mutation run anyway.
func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"-only", "cas"}, {"-j", "0"}, {"-diff"}, {"-n", "-1"}} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), args, &out, &errb); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if lines := strings.Count(errb.String(), "\n"); lines != 2 || !strings.Contains(errb.String(), "see 'insideout mutate -h'") {
			t.Errorf("%q: stderr %q, want one line and where to look", args, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("%q: a usage error wrote to stdout:\n%s", args, out.String())
		}
	}
	var out bytes.Buffer
	if code := Main(context.Background(), []string{"-h"}, &out, &out); code != exitOK || strings.Count(out.String(), "usage: insideout mutate") != 1 {
		t.Errorf("-h: exit %d, want 0 and the usage once:\n%s", code, out.String())
	}
}

// The built-in map parses, covers every package under impl/ that has
// code, and gives each its own tests first; a map with a step that is not
// go test or go run is refused. The bugs: a broken embedded map, found
// only when a run starts; a package of impl/ left to the default steps
// (no campaigns, no controlled schedules); a step that would run
// something else than a test.
func TestKillMap(t *testing.T) {
	km, err := readMap("", insideoutModule)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"impl/queue", "impl/mailbox", "impl/internal/segment", "impl/rt", "impl/pool", "impl/cont", "impl/seq", "impl/eventq", "impl/semaphore", "impl/cubby", "impl/backlog"} {
		steps := km.Packages[p]
		if len(steps) < 3 || steps[0].Name != "tests" || !steps[0].Race {
			t.Errorf("%s: steps %+v, want its tests (race) first, then more", p, steps)
		}
		sched := false
		for _, s := range steps {
			sched = sched || slices.Contains(s.Args, "sched")
		}
		if !sched {
			t.Errorf("%s: no step under -tags sched", p)
		}
	}
	if km, err := readMap("", "example.com/other"); km != nil || err != nil {
		t.Errorf("another module got insideout's map (%v, %v)", km, err)
	}
	bad := filepath.Join(t.TempDir(), "map.json")
	if err := os.WriteFile(bad, []byte(`{"packages": {"p": [{"name": "x", "args": ["build", "./p/"]}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readMap(bad, "example.com/other"); err == nil {
		t.Error("a go build step was accepted")
	}
}

// -id selects whole IDs, or prefixes that end at a colon. The bug: -id
// f.go:F:cond-invert:1 running f.go:F:cond-invert:10 too.
func TestWantID(t *testing.T) {
	c := &config{ids: "a.go:F:cond-invert:1, b.go:G"}
	for id, want := range map[string]bool{
		"a.go:F:cond-invert:1": true, "a.go:F:cond-invert:10": false,
		"b.go:G:wake-drop:2": true, "b.go:Gx:wake-drop:1": false, "c.go:H:bound-off:1": false,
	} {
		if got := c.wantID(id); got != want {
			t.Errorf("-id %q selects %s: %v, want %v", c.ids, id, got, want)
		}
	}
}
