package mutate

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// DefaultEquivalents is where the runner looks for the list of equivalent
// mutants, relative to the module's root, when -equiv is not given.
const DefaultEquivalents = "docs/mutants-equivalent.txt"

// readEquivalents reads a list of equivalent mutants: one a line, the
// mutant's ID, then the one-line argument that it is equivalent (that no
// test could tell it from the original). Blank lines and lines starting
// with # are comments. A missing file is an empty list unless must.
func readEquivalents(file string, must bool) (map[string]string, error) {
	eq := make(map[string]string)
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
		id, why, _ := strings.Cut(line, " ")
		why = strings.TrimSpace(why)
		if why == "" {
			return nil, fmt.Errorf("%s:%d: %s has no argument: an equivalent mutant needs a one-line reason", file, n, id)
		}
		if _, dup := eq[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice", file, n, id)
		}
		eq[id] = why
	}
	return eq, sc.Err()
}

// staleEquivalents returns the entries of eq that name a file of one of
// pkgs but no mutant of it: the code changed under them, and each needs
// looking at again.
func staleEquivalents(eq map[string]string, pkgs []*pkg, ms []*Mutant) []string {
	ids := make(map[string]bool)
	for _, m := range ms {
		ids[m.ID] = true
	}
	files := make(map[string]bool)
	for _, m := range ms {
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
	for id := range eq {
		file, _, _ := strings.Cut(id, ":")
		if files[file] && !ids[id] {
			stale = append(stale, id)
		}
	}
	return stale
}
