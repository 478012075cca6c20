package mutate

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A Step is one kill command: the arguments of a go command (go test, go
// run) run from the module's root. The runner adds -overlay (the mutant),
// and to go test -count=1 and -timeout; and -race where Race is set and the
// mutant made an atomic access plain.
type Step struct {
	Name string   `json:"name"`
	Args []string `json:"args"`
	Race bool     `json:"race,omitempty"`
}

// A KillMap maps packages (paths relative to the module's root, as
// "impl/queue") to the steps that cover them, in the order to run them:
// the fastest first, since a mutant stops at its first kill.
type KillMap struct {
	Packages map[string][]Step `json:"packages"`
}

// insideoutMap is the map of insideout's own packages: each package's
// tests, free and under -tags sched, then its campaign under the
// controlled schedules and free, then its stress tests.
//
//go:embed insideout-map.json
var insideoutMap []byte

// insideoutModule is the module whose map is built in.
const insideoutModule = "github.com/insideout-go/insideout"

// readMap reads a kill map from file, or the built-in one for insideout's
// module if file is empty (and nil for any other module).
func readMap(file, module string) (*KillMap, error) {
	data := insideoutMap
	switch {
	case file != "":
		var err error
		if data, err = os.ReadFile(file); err != nil {
			return nil, err
		}
	case module != insideoutModule:
		return nil, nil
	}
	var km KillMap
	if err := json.Unmarshal(data, &km); err != nil {
		return nil, fmt.Errorf("kill map %s: %v", cmpOr(file, "(built in)"), err)
	}
	for p, steps := range km.Packages {
		for _, s := range steps {
			if s.Name == "" || len(s.Args) == 0 || s.Args[0] != "test" && s.Args[0] != "run" {
				return nil, fmt.Errorf("kill map: %s: a step needs a name and go test or go run arguments: %+v", p, s)
			}
		}
	}
	return &km, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// stepsFor returns p's steps: the map's, or else the default: p's own
// tests; the same under -tags sched if any of p's files is built with
// sched; then the tests of the module's packages that import p.
func stepsFor(ctx context.Context, km *KillMap, p *pkg) ([]Step, error) {
	if km != nil {
		if s, ok := km.Packages[p.Rel]; ok {
			return s, nil
		}
	}
	dir := "./" + p.Rel + "/"
	if p.Rel == "." {
		dir = "./"
	}
	steps := []Step{{Name: "tests", Args: []string{"test", dir}, Race: true}}
	if usesTag(p.Dir, "sched") {
		steps = append(steps, Step{Name: "sched", Args: []string{"test", "-tags", "sched", dir}})
	}
	importers, err := importersOf(ctx, p)
	if err != nil {
		return nil, err
	}
	if len(importers) > 0 {
		steps = append(steps, Step{Name: "importers", Args: append([]string{"test"}, importers...), Race: true})
	}
	return steps, nil
}

// usesTag reports whether a Go file in dir has a build constraint that
// names tag.
func usesTag(dir, tag string) bool {
	names, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			if strings.HasPrefix(line, "package ") {
				break
			}
			if strings.HasPrefix(line, "//go:build") && slices.Contains(strings.FieldsFunc(line[len("//go:build"):], notIdent), tag) {
				return true
			}
		}
	}
	return false
}

func notIdent(r rune) bool {
	return !(r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
}

// importersOf lists the packages of p's module, other than p, whose code
// or tests import p directly and which have tests, as ./dir/ patterns.
func importersOf(ctx context.Context, p *pkg) ([]string, error) {
	all, err := goList(ctx, p.Root, "./...")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range all {
		if l.ImportPath == p.ImportPath || len(l.TestGoFiles)+len(l.XTestGoFiles) == 0 {
			continue
		}
		if slices.Contains(l.Imports, p.ImportPath) || slices.Contains(l.TestImports, p.ImportPath) ||
			slices.Contains(l.XTestImports, p.ImportPath) {
			rel, err := filepath.Rel(p.Root, l.Dir)
			if err != nil {
				return nil, err
			}
			out = append(out, "./"+filepath.ToSlash(rel)+"/")
		}
	}
	return out, nil
}
