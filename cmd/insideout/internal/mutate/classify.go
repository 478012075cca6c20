package mutate

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// atomicPkg reports whether path is a package whose atomics the operators
// know: sync/atomic, or an impl/seam (insideout's, or a copy of it), whose
// types are sync/atomic's in an ordinary build.
func atomicPkg(path string) bool {
	return path == "sync/atomic" || path == "impl/seam" || strings.HasSuffix(path, "/impl/seam")
}

// atomicBases are the operations of sync/atomic's types and functions,
// longest first, so that a name's prefix picks one.
var atomicBases = []string{"CompareAndSwap", "Swap", "Load", "Store", "Add", "Or", "And"}

// An atomicCall is a call of an atomic operation: a method of an atomic
// type (x.CompareAndSwap(old, new)) or a function (atomic.AddInt64(&n, 1),
// seam.LoadPointer(slot)).
type atomicCall struct {
	call   *ast.CallExpr
	method bool
	base   string   // one of atomicBases
	suffix string   // a function's type suffix: "Pointer", "Uint64"
	recv   ast.Expr // a method's receiver
	recvP  bool     // the receiver is a pointer
	qual   string   // a function's qualifier as written ("seam")
}

// asAtomic returns call as an atomic call, or false.
func asAtomic(info *types.Info, call *ast.CallExpr) (atomicCall, bool) {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return atomicCall{}, false
	}
	fn, ok := info.Uses[sel.Sel].(*types.Func)
	if !ok || fn.Pkg() == nil || !atomicPkg(fn.Pkg().Path()) {
		return atomicCall{}, false
	}
	base := ""
	for _, b := range atomicBases {
		if strings.HasPrefix(fn.Name(), b) {
			base = b
			break
		}
	}
	if base == "" {
		return atomicCall{}, false
	}
	a := atomicCall{call: call, base: base}
	if s := info.Selections[sel]; s != nil && s.Kind() == types.MethodVal {
		if fn.Name() != base {
			return atomicCall{}, false
		}
		a.method, a.recv = true, sel.X
		_, a.recvP = info.TypeOf(sel.X).Underlying().(*types.Pointer)
		return a, true
	}
	id, ok := sel.X.(*ast.Ident)
	if !ok {
		return atomicCall{}, false
	}
	if _, ok := info.Uses[id].(*types.PkgName); !ok {
		return atomicCall{}, false
	}
	a.qual, a.suffix = id.Name, strings.TrimPrefix(fn.Name(), base)
	if a.suffix == "" {
		return atomicCall{}, false
	}
	return a, true
}

// calleeName returns the name a call calls (the method's or function's),
// and whether it is a method call.
func calleeName(call *ast.CallExpr) (string, bool) {
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		return f.Name, false
	case *ast.SelectorExpr:
		return f.Sel.Name, true
	case *ast.IndexExpr: // a generic function, instantiated
		if id, ok := f.X.(*ast.Ident); ok {
			return id.Name, false
		}
	}
	return "", false
}

// isWake reports whether call wakes someone: Unpark, Signal, Broadcast, a
// method or function of the package whose name starts with wake, close of
// a channel, or seam.Close.
func isWake(info *types.Info, call *ast.CallExpr) bool {
	name, method := calleeName(call)
	switch {
	case method && (name == "Unpark" || name == "Signal" || name == "Broadcast"):
		return true
	case strings.HasPrefix(name, "wake") || strings.HasPrefix(name, "Wake"):
		return true
	case name == "close" && !method:
		_, ok := info.Uses[ast.Unparen(call.Fun).(*ast.Ident)].(*types.Builtin)
		return ok
	case name == "Close" && method:
		fn, ok := info.Uses[ast.Unparen(call.Fun).(*ast.SelectorExpr).Sel].(*types.Func)
		return ok && fn.Pkg() != nil && atomicPkg(fn.Pkg().Path()) && fn.Signature().Recv() == nil
	}
	return false
}

// isPark reports whether call puts its goroutine to sleep until woken:
// Park, ParkOr, a Cond's Wait, or seam's Await and Await2.
func isPark(info *types.Info, call *ast.CallExpr) bool {
	name, method := calleeName(call)
	if !method {
		return false
	}
	switch name {
	case "Park", "ParkOr":
		return true
	case "Wait", "Await", "Await2":
		fn, ok := info.Uses[ast.Unparen(call.Fun).(*ast.SelectorExpr).Sel].(*types.Func)
		if !ok || fn.Pkg() == nil {
			return false
		}
		path := fn.Pkg().Path()
		if name == "Wait" {
			return (path == "sync" || atomicPkg(path)) && fn.Signature().Recv() != nil
		}
		return atomicPkg(path)
	}
	return false
}

// isLockCall reports whether s is x.Lock() or x.RLock() (lock true), or
// x.Unlock() or x.RUnlock() (lock false).
func isLockCall(s ast.Stmt) (ok, lock bool) {
	es, isExpr := s.(*ast.ExprStmt)
	if !isExpr {
		return false, false
	}
	call, isCall := es.X.(*ast.CallExpr)
	if !isCall || len(call.Args) != 0 {
		return false, false
	}
	switch name, method := calleeName(call); {
	case !method:
		return false, false
	case name == "Lock" || name == "RLock":
		return true, true
	case name == "Unlock" || name == "RUnlock":
		return true, false
	}
	return false, false
}

// inspect walks n like ast.Inspect, but not into function literals: their
// code runs at another time, so it is no part of n's sequence.
func inspect(n ast.Node, f func(ast.Node) bool) {
	ast.Inspect(n, func(n ast.Node) bool {
		if _, ok := n.(*ast.FuncLit); ok {
			return false
		}
		return f(n)
	})
}

// contains reports whether n (outside function literals) has a call for
// which pred holds.
func contains(n ast.Node, pred func(*ast.CallExpr) bool) bool {
	found := false
	inspect(n, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && pred(c) {
			found = true
		}
		return !found
	})
	return found
}

// defined returns the names a statement declares (:=, var).
func defined(s ast.Stmt) map[string]bool {
	names := make(map[string]bool)
	switch s := s.(type) {
	case *ast.AssignStmt:
		if s.Tok == token.DEFINE {
			for _, l := range s.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
					names[id.Name] = true
				}
			}
		}
	case *ast.DeclStmt:
		if g, ok := s.Decl.(*ast.GenDecl); ok {
			for _, sp := range g.Specs {
				if vs, ok := sp.(*ast.ValueSpec); ok {
					for _, id := range vs.Names {
						names[id.Name] = true
					}
				}
			}
		}
	}
	return names
}

// mentions reports whether n uses an identifier in names.
func mentions(n ast.Node, names map[string]bool) bool {
	if len(names) == 0 {
		return false
	}
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && names[id.Name] {
			found = true
		}
		return !found
	})
	return found
}

// terminates reports whether a block's last statement leaves it: a
// return, a branch, or a panic.
func terminates(b *ast.BlockStmt) bool {
	if b == nil || len(b.List) == 0 {
		return false
	}
	switch s := b.List[len(b.List)-1].(type) {
	case *ast.ReturnStmt, *ast.BranchStmt:
		return true
	case *ast.ExprStmt:
		if c, ok := s.X.(*ast.CallExpr); ok {
			if id, ok := c.Fun.(*ast.Ident); ok && id.Name == "panic" {
				return true
			}
		}
	}
	return false
}

// isErrorType reports whether t is an interface type that error is: the
// static type of an error result.
func isErrorType(t types.Type) bool {
	if t == nil || !types.IsInterface(t) {
		return false
	}
	errType := types.Universe.Lookup("error").Type().Underlying().(*types.Interface)
	return types.Implements(t, errType) && types.Identical(t.Underlying(), errType)
}
