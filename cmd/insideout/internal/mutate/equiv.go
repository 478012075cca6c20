package mutate

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// DefaultEquivalents is where the runner looks for the list of equivalent
// mutants, relative to the module's root, when -equiv is not given.
const DefaultEquivalents = "docs/mutants-equivalent.txt"

// An equivalent is one entry of the list of equivalent mutants.
type equivalent struct {
	desc string // the mutant's description, as -list prints it after its line
	why  string // the one-line argument that no test could tell it apart
}

// readEquivalents reads a list of equivalent mutants: one a line, the
// mutant's ID, its description between backquotes (as insideout mutate
// -list prints it, after the line number), then the one-line argument
// that it is equivalent (that no test could tell it from the original).
// The description pins the entry to the mutant that was argued: IDs count
// a function's mutants of one operator, so a rewrite of the function can
// give an entry's ID to another mutant. Blank lines and lines starting
// with # are comments. A missing file is an empty list unless must.
func readEquivalents(file string, must bool) (map[string]equivalent, error) {
	eq := make(map[string]equivalent)
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) && !must {
		return eq, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, rest, _ := strings.Cut(line, " ")
		desc, why, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(rest), "`"), "`")
		if !strings.HasPrefix(strings.TrimSpace(rest), "`") || !ok || desc == "" {
			return nil, fmt.Errorf("%s:%d: %s has no description between backquotes: copy the one insideout mutate -list prints after the line number, so that the entry cannot come to name another mutant", file, n, id)
		}
		why = strings.TrimSpace(why)
		if why == "" {
			return nil, fmt.Errorf("%s:%d: %s has no argument: an equivalent mutant needs a one-line reason", file, n, id)
		}
		if _, dup := eq[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", file, n, id)
		}
		eq[id] = equivalent{desc: desc, why: why}
	}
	return eq, sc.Err()
}

// staleEquivalents returns the entries of eq that name a file of one of
// pkgs but no mutant of it, or a mutant whose description is no longer
// the entry's: the code changed under them, and each needs looking at
// again.
func staleEquivalents(eq map[string]equivalent, pkgs []*pkg, ms []*Mutant) []string {
	descs := make(map[string]string)
	files := make(map[string]bool)
	for _, m := range ms {
		descs[m.ID] = m.Desc
		files[m.File] = true
	}
	for _, p := range pkgs {
		for _, f := range p.GoFiles {
			if p.Rel == "." {
				files[f] = true
			} else {
				files[p.Rel+"/"+f] = true
			}
		}
	}
	var stale []string
	for id, e := range eq {
		file, _, _ := strings.Cut(id, ":")
		if desc, ok := descs[id]; files[file] && (!ok || desc != e.desc) {
			stale = append(stale, id)
		}
	}
	slices.Sort(stale)
	return stale
}

// equivalentWhy returns the argument that m is equivalent, if an entry of
// eq names it and the entry's description is still m's.
func equivalentWhy(eq map[string]equivalent, m *Mutant) (string, bool) {
	e, ok := eq[m.ID]
	return e.why, ok && e.desc == m.Desc
}
