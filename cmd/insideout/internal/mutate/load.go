package mutate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// A pkg is one package to mutate: its files parsed and type-checked.
type pkg struct {
	ImportPath string
	Dir        string // absolute
	Rel        string // Dir relative to the module root, slash-separated ("." for the root)
	GoFiles    []string
	TestFiles  []string // _test.go files, package and external
	Imports    []string
	Module     string // the module's path
	Root       string // the module's directory

	fset    *token.FileSet
	files   []*ast.File
	srcs    [][]byte
	info    *types.Info
	exports map[string]string // export data files of the dependencies
}

// open opens the export data of p's dependency path.
func (p *pkg) open(path string) (io.ReadCloser, error) {
	if f := p.exports[path]; f != "" {
		return os.Open(f)
	}
	return nil, fmt.Errorf("no export data for %s", path)
}

// listed is what go list -json says of a package.
type listed struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	TestGoFiles  []string
	XTestGoFiles []string
	Imports      []string
	TestImports  []string
	XTestImports []string
	Export       string
	Module       *struct{ Path, Dir string }
	Error        *struct{ Err string }
}

// goList runs go list -json with args in dir and decodes its stream.
func goList(ctx context.Context, dir string, args ...string) ([]listed, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %v: %s", strings.Join(args, " "), err, firstLine(stderr.String()))
	}
	var all []listed
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var l listed
		if err := dec.Decode(&l); err == io.EOF {
			return all, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list: %v", err)
		}
		all = append(all, l)
	}
}

// loadPackages lists patterns in dir and parses and type-checks each
// package they match (its files of an ordinary build, not its tests).
func loadPackages(ctx context.Context, dir string, patterns []string) ([]*pkg, error) {
	ls, err := goList(ctx, dir, patterns...)
	if err != nil {
		return nil, err
	}
	var pkgs []*pkg
	for _, l := range ls {
		if l.Error != nil {
			return nil, fmt.Errorf("%s: %s", l.ImportPath, l.Error.Err)
		}
		if len(l.GoFiles) == 0 {
			continue
		}
		if l.Module == nil {
			return nil, fmt.Errorf("%s: not in a module", l.ImportPath)
		}
		p := &pkg{ImportPath: l.ImportPath, Dir: l.Dir, GoFiles: l.GoFiles,
			Imports: l.Imports, Module: l.Module.Path, Root: l.Module.Dir}
		p.TestFiles = append(append(p.TestFiles, l.TestGoFiles...), l.XTestGoFiles...)
		rel, err := filepath.Rel(p.Root, p.Dir)
		if err != nil {
			return nil, err
		}
		p.Rel = filepath.ToSlash(rel)
		if err := p.parse(ctx); err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no package with Go files matches %s", strings.Join(patterns, " "))
	}
	return pkgs, nil
}

// parse parses p's files and type-checks them against the export data of
// their dependencies (go list -export builds it, or finds it cached).
func (p *pkg) parse(ctx context.Context) error {
	p.fset = token.NewFileSet()
	for _, name := range p.GoFiles {
		src, err := os.ReadFile(filepath.Join(p.Dir, name))
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(p.fset, name, src, parser.ParseComments)
		if err != nil {
			return err
		}
		p.files = append(p.files, f)
		p.srcs = append(p.srcs, src)
	}
	deps, err := goList(ctx, p.Dir, "-export", "-deps", ".")
	if err != nil {
		return err
	}
	p.exports = make(map[string]string)
	for _, d := range deps {
		p.exports[d.ImportPath] = d.Export
	}
	p.info = &types.Info{
		Types:      make(map[ast.Expr]types.TypeAndValue),
		Defs:       make(map[*ast.Ident]types.Object),
		Uses:       make(map[*ast.Ident]types.Object),
		Selections: make(map[*ast.SelectorExpr]*types.Selection),
	}
	var errs []error
	conf := types.Config{
		Importer: importer.ForCompiler(p.fset, "gc", p.open),
		Error:    func(err error) { errs = append(errs, err) },
	}
	conf.Check(p.ImportPath, p.fset, p.files, p.info)
	if len(errs) > 0 {
		return fmt.Errorf("type-checking %s: %w", p.ImportPath, errors.Join(errs[:min(len(errs), 3)]...))
	}
	return nil
}

// firstLine returns the first non-empty line of s.
func firstLine(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}
