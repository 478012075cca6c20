package mutate

import (
	"cmp"
	"fmt"
	"go/ast"
	"go/token"
	"slices"
	"strings"
)

// The operators, in the order the report lists them.
const (
	OpCASStore     = "cas-store"      // x.CompareAndSwap(o, n) becomes x.Store(n), reporting success
	OpSwapSplit    = "swap-split"     // x.Swap(n) becomes a Load then a Store
	OpAtomicPlain  = "atomic-plain"   // an atomic access becomes a plain one (for -race)
	OpStoreLate    = "store-late"     // a store moved after the atomic operation that follows it
	OpStoreEarly   = "store-early"    // a store moved before the atomic operation that precedes it
	OpWakeDrop     = "wake-drop"      // a wake-up (Unpark, Signal, Broadcast, close, wake…) dropped
	OpRecheckDrop  = "recheck-drop"   // a re-check before parking dropped
	OpReadUnlocked = "read-unlocked"  // a read moved out of its lock, or out of its CAS loop
	OpBreakCont    = "break-continue" // in a watching loop, break becomes continue
	OpCondInvert   = "cond-invert"    // in a watching loop, a condition inverted
	OpBoundOff     = "bound-off"      // in a watching loop, < becomes <= (and so on)
	OpErrIgnored   = "err-ignored"    // an error result's check dropped
)

// Operators lists every operator, in report order.
var Operators = []string{OpCASStore, OpSwapSplit, OpAtomicPlain, OpStoreLate, OpStoreEarly,
	OpWakeDrop, OpRecheckDrop, OpReadUnlocked, OpBreakCont, OpCondInvert, OpBoundOff, OpErrIgnored}

// An edit replaces src[off:end] with text.
type edit struct {
	off, end int
	text     string
}

// A Mutant is one change to one file of a package.
type Mutant struct {
	ID      string `json:"id"` // file:Func:operator:n, stable while the function's code is
	Op      string `json:"operator"`
	Pkg     string `json:"package"`
	File    string `json:"file"` // relative to the module root
	Func    string `json:"func"`
	Line    int    `json:"line"`
	Desc    string `json:"desc"`
	Race    bool   `json:"race,omitempty"` // runs its race steps with -race: a plain access, a store moved past the atomic that orders it, a read moved out of its lock
	Diff    string `json:"diff,omitempty"`
	edits   []edit
	helpers []string
	file    int // index into pkg.files
}

// gen makes the mutants of one function of one file.
type gen struct {
	p    *pkg
	fi   int
	src  []byte
	tf   *token.File
	fn   string
	out  *[]*Mutant
	labs map[string]ast.Stmt // labelled statements of the function
}

func (g *gen) off(pos token.Pos) int  { return g.tf.Offset(pos) }
func (g *gen) text(n ast.Node) string { return string(g.src[g.off(n.Pos()):g.off(n.End())]) }

// add records a mutant of node made by edits.
func (g *gen) add(op string, n ast.Node, desc string, edits []edit, helpers ...string) {
	desc = strings.Join(strings.Fields(desc), " ") // one line, as the equivalents file pins it
	*g.out = append(*g.out, &Mutant{Op: op, Pkg: g.p.ImportPath, File: g.fileRel(), Func: g.fn,
		Line: g.tf.Line(n.Pos()), Desc: desc, edits: edits, helpers: helpers, file: g.fi,
		Race: raceOps[op]})
}

// raceOps are the operators whose mutants run the race steps with -race:
// each makes a data race (a plain access of shared memory, a store moved
// past the atomic operation that orders it, a read moved out of its lock)
// that the race detector sees, often where no test's outcome does.
var raceOps = map[string]bool{OpAtomicPlain: true, OpStoreLate: true, OpStoreEarly: true, OpReadUnlocked: true}

// replace is add for one edit that replaces node with text.
func (g *gen) replace(op string, n ast.Node, text, desc string, helpers ...string) {
	g.add(op, n, desc, []edit{{g.off(n.Pos()), g.off(n.End()), text}}, helpers...)
}

func (g *gen) fileRel() string {
	name := g.p.GoFiles[g.fi]
	if g.p.Rel == "." {
		return name
	}
	return g.p.Rel + "/" + name
}

// generate returns every mutant of p, in source order, with their IDs.
func generate(p *pkg) []*Mutant {
	var out []*Mutant
	for fi, f := range p.files {
		tf := p.fset.File(f.Pos())
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			g := &gen{p: p, fi: fi, src: p.srcs[fi], tf: tf, fn: funcName(fd), out: &out,
				labs: make(map[string]ast.Stmt)}
			g.function(fd.Body)
		}
	}
	slices.SortStableFunc(out, func(a, b *Mutant) int {
		return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.edits[0].off, b.edits[0].off),
			cmp.Compare(slices.Index(Operators, a.Op), slices.Index(Operators, b.Op)))
	})
	seen := make(map[string]int)
	for _, m := range out {
		key := m.File + ":" + m.Func + ":" + m.Op
		seen[key]++
		m.ID = fmt.Sprintf("%s:%d", key, seen[key])
	}
	return out
}

// funcName names a function as Type.Method or Func.
func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
			continue
		case *ast.IndexExpr:
			t = x.X
			continue
		case *ast.IndexListExpr:
			t = x.X
			continue
		case *ast.Ident:
			return x.Name + "." + fd.Name.Name
		}
		return fd.Name.Name
	}
}

// function makes the mutants of one function body.
func (g *gen) function(body *ast.BlockStmt) {
	ast.Inspect(body, func(n ast.Node) bool {
		if l, ok := n.(*ast.LabeledStmt); ok {
			g.labs[l.Label.Name] = l.Stmt
		}
		return true
	})
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			g.atomicOps(n)
		case *ast.BlockStmt:
			g.stmtList(n.List)
		case *ast.CaseClause:
			g.stmtList(n.Body)
		case *ast.CommClause:
			g.stmtList(n.Body)
		case *ast.ForStmt:
			if watching(g.p, n) {
				g.loopOps(n, n.Cond, n.Body)
			}
		case *ast.RangeStmt:
			if watching(g.p, n) {
				g.loopOps(n, nil, n.Body)
			}
		case *ast.IfStmt:
			g.errIgnored(n)
		}
		return true
	})
}

// atomicOps makes the mutants of one atomic call: cas-store, swap-split and
// atomic-plain.
func (g *gen) atomicOps(call *ast.CallExpr) {
	a, ok := asAtomic(g.p.info, call)
	if !ok {
		return
	}
	args := make([]string, len(call.Args))
	for i, arg := range call.Args {
		args[i] = g.text(arg)
	}
	join := func(parts ...string) string { return strings.Join(parts, ", ") }
	orig := g.text(call)
	if a.method {
		x := g.text(a.recv)
		addr := "&" + x
		if a.recvP {
			addr = x
		}
		switch a.base {
		case "CompareAndSwap":
			g.replace(OpCASStore, call, "ioMutCASStore("+join(x+".Store", args[0], args[1])+")",
				orig+" becomes a Store that reports success", "ioMutCASStore")
		case "Swap":
			g.replace(OpSwapSplit, call, "ioMutSwap("+join(x+".Load", x+".Store", args[0])+")",
				orig+" becomes a Load, then a Store", "ioMutSwap")
		}
		h := "ioMutPlain" + a.base
		g.replace(OpAtomicPlain, call, h+"("+join(append([]string{x + ".Load", addr}, args...)...)+")",
			orig+" becomes a plain access", h, "unsafe")
		return
	}
	store, load := a.qual+".Store"+a.suffix, a.qual+".Load"+a.suffix
	switch a.base {
	case "CompareAndSwap":
		g.replace(OpCASStore, call, "ioMutCASStoreFn("+join(store, args[0], args[1], args[2])+")",
			orig+" becomes a Store that reports success", "ioMutCASStoreFn")
	case "Swap":
		g.replace(OpSwapSplit, call, "ioMutSwapFn("+join(load, store, args[0], args[1])+")",
			orig+" becomes a Load, then a Store", "ioMutSwapFn")
	}
	h := "ioMutPlain" + a.base + "Fn"
	g.replace(OpAtomicPlain, call, h+"("+strings.Join(args, ", ")+")", orig+" becomes a plain access", h)
}

// stmtList makes the mutants that move or drop statements of one list.
func (g *gen) stmtList(list []ast.Stmt) {
	for i, s := range list {
		if i+1 < len(list) {
			g.pair(list[i], list[i+1])
		}
		g.wakeDrop(s)
		g.hoist(list, i)
	}
	g.recheck(list)
}

// swap returns the edits that exchange two adjacent statements.
func (g *gen) swap(a, b ast.Stmt) []edit {
	return []edit{{g.off(a.Pos()), g.off(a.End()), g.text(b)}, {g.off(b.Pos()), g.off(b.End()), g.text(a)}}
}

// pair makes store-late, store-early and read-unlocked mutants of two
// adjacent statements, which it exchanges.
func (g *gen) pair(a, b ast.Stmt) {
	if !movable(a) || !movable(b) || mentions(b, defined(a)) || mentions(a, defined(b)) {
		return
	}
	info := g.p.info
	anyAtomic := func(c *ast.CallExpr) bool { _, ok := asAtomic(info, c); return ok }
	publish := func(c *ast.CallExpr) bool {
		at, ok := asAtomic(info, c)
		return ok && at.base != "Load" || isWake(info, c)
	}
	okA, lockA := isLockCall(a)
	okB, lockB := isLockCall(b)
	switch {
	case okA && lockA && isRead(b):
		g.add(OpReadUnlocked, b, "moved before "+g.text(a)+": "+oneLine(g.text(b)), g.swap(a, b))
	case okB && !lockB && isRead(a):
		g.add(OpReadUnlocked, a, "moved after "+g.text(b)+": "+oneLine(g.text(a)), g.swap(a, b))
	case okA || okB:
	case g.isStore(a) && contains(b, publish):
		g.add(OpStoreLate, a, "moved after the atomic operation that followed it: "+oneLine(g.text(a)), g.swap(a, b))
	case g.isStore(b) && contains(a, anyAtomic):
		g.add(OpStoreEarly, b, "moved before the atomic operation that preceded it: "+oneLine(g.text(b)), g.swap(a, b))
	}
}

// movable reports whether s may change places with a neighbour.
func movable(s ast.Stmt) bool {
	switch s.(type) {
	case *ast.AssignStmt, *ast.ExprStmt, *ast.IncDecStmt, *ast.IfStmt, *ast.DeclStmt, *ast.SendStmt:
		return true
	}
	return false
}

// isRead reports whether s is an assignment: what it reads moves with it.
func isRead(s ast.Stmt) bool {
	switch s := s.(type) {
	case *ast.AssignStmt, *ast.IncDecStmt:
		return true
	case *ast.DeclStmt:
		return len(defined(s)) > 0
	}
	return false
}

// isStore reports whether s writes shared memory: an assignment to
// something other than a local variable, or an atomic Store.
func (g *gen) isStore(s ast.Stmt) bool {
	var lhs []ast.Expr
	switch s := s.(type) {
	case *ast.AssignStmt:
		if s.Tok == token.DEFINE {
			return false
		}
		lhs = s.Lhs
	case *ast.IncDecStmt:
		lhs = []ast.Expr{s.X}
	case *ast.ExprStmt:
		c, ok := s.X.(*ast.CallExpr)
		if !ok {
			return false
		}
		a, ok := asAtomic(g.p.info, c)
		return ok && a.base == "Store"
	default:
		return false
	}
	for _, l := range lhs {
		id, ok := ast.Unparen(l).(*ast.Ident)
		if !ok {
			return true
		}
		if obj := g.p.info.Uses[id]; obj != nil && obj.Parent() == obj.Pkg().Scope() {
			return true
		}
	}
	return false
}

// oneLine shortens s to its first line.
func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
