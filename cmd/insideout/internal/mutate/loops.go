package mutate

import (
	"go/ast"
	"go/token"
	"go/types"
	"strings"
)

// wakeDrop drops s if it is a wake-up: the call goes, its receiver and
// arguments are still evaluated (and so still used).
func (g *gen) wakeDrop(s ast.Stmt) {
	es, ok := s.(*ast.ExprStmt)
	if !ok {
		return
	}
	call, ok := es.X.(*ast.CallExpr)
	if !ok || !isWake(g.p.info, call) {
		return
	}
	var parts []string
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok && g.p.info.Selections[sel] != nil {
		parts = append(parts, g.text(sel.X))
	}
	for _, a := range call.Args {
		if id, ok := a.(*ast.Ident); ok && id.Name == "nil" {
			continue
		}
		parts = append(parts, g.text(a))
	}
	text := "{}"
	if len(parts) > 0 {
		blanks := strings.TrimSuffix(strings.Repeat("_, ", len(parts)), ", ")
		text = blanks + " = " + strings.Join(parts, ", ")
	}
	g.replace(OpWakeDrop, s, text, "dropped: "+g.text(s))
}

// hoist moves the first statement of a CAS loop that reads an atomic out
// of the loop (list[i], possibly labelled), so that every retry sees the
// value read before the first attempt.
func (g *gen) hoist(list []ast.Stmt, i int) {
	s := list[i]
	loop := s
	if l, ok := s.(*ast.LabeledStmt); ok {
		loop = l.Stmt
	}
	f, ok := loop.(*ast.ForStmt)
	info := g.p.info
	if !ok || f.Init != nil || f.Cond != nil || f.Post != nil ||
		!contains(f.Body, func(c *ast.CallExpr) bool { a, ok := asAtomic(info, c); return ok && a.base == "CompareAndSwap" }) {
		return
	}
	isLoad := func(c *ast.CallExpr) bool { a, ok := asAtomic(info, c); return ok && a.base == "Load" }
	before := make(map[string]bool)
	for _, r := range f.Body.List {
		as, ok := r.(*ast.AssignStmt)
		if !ok || !containsAll(as.Rhs, isLoad) {
			for k := range defined(r) {
				before[k] = true
			}
			continue
		}
		if mentions(as, before) || g.redeclares(as) {
			return
		}
		start := g.off(s.Pos())
		pos := g.tf.Position(s.Pos())
		indent := string(g.src[start-(pos.Column-1) : start])
		from, to := g.wholeLine(g.off(r.Pos()), g.off(r.End()))
		g.add(OpReadUnlocked, r, "hoisted out of its CAS loop: "+oneLine(g.text(r)), []edit{
			{start, start, g.text(r) + "\n" + indent},
			{from, to, ""},
		})
		return
	}
}

// wholeLine widens src[from:to] to its whole line, newline included, if
// nothing else is on that line but blanks.
func (g *gen) wholeLine(from, to int) (int, int) {
	a, b := from, to
	for a > 0 && (g.src[a-1] == ' ' || g.src[a-1] == '\t') {
		a--
	}
	for b < len(g.src) && (g.src[b] == ' ' || g.src[b] == '\t') {
		b++
	}
	if (a == 0 || g.src[a-1] == '\n') && b < len(g.src) && g.src[b] == '\n' {
		return a, b + 1
	}
	return from, to
}

// containsAll reports whether one of exprs has a call for which pred holds.
func containsAll(exprs []ast.Expr, pred func(*ast.CallExpr) bool) bool {
	for _, e := range exprs {
		if contains(e, pred) {
			return true
		}
	}
	return false
}

// redeclares reports whether as, a statement of a loop's body, declares a
// name that the scope around the loop already has.
func (g *gen) redeclares(as *ast.AssignStmt) bool {
	if as.Tok != token.DEFINE {
		return false
	}
	for _, l := range as.Lhs {
		id, ok := l.(*ast.Ident)
		if !ok {
			continue
		}
		obj := g.p.info.Defs[id]
		if obj == nil || obj.Parent() == nil || obj.Parent().Parent() == nil {
			continue
		}
		if outer := obj.Parent().Parent().Parent(); outer == nil || outer.Lookup(id.Name) != nil {
			return true
		}
	}
	return false
}

// recheck makes the recheck-drop mutants of one list: an early exit
// between registering as a waiter and parking, dropped; and a loop that
// waits until a condition holds, made to wait once.
func (g *gen) recheck(list []ast.Stmt) {
	info := g.p.info
	park := func(c *ast.CallExpr) bool { return isPark(info, c) }
	for _, s := range list {
		f, ok := s.(*ast.ForStmt)
		if !ok || f.Init != nil || f.Post != nil || f.Cond == nil || !contains(f.Body, park) || hasBranch(f.Body) {
			continue
		}
		g.add(OpRecheckDrop, f, "the condition is not re-checked after waking: for "+g.text(f.Cond)+" becomes if",
			[]edit{{g.off(f.For), g.off(f.For) + len("for"), "if"}})
	}
	k := -1
	for i, s := range list {
		if contains(s, park) {
			k = i
			break
		}
	}
	for j := 1; j < k; j++ {
		if is, ok := list[j].(*ast.IfStmt); ok && is.Else == nil && terminates(is.Body) {
			g.replace(OpRecheckDrop, is.Cond, "false && ("+g.text(is.Cond)+")",
				"the re-check before parking is dropped: if "+g.text(is.Cond))
		}
	}
}

// hasBranch reports whether b has a break, continue or goto.
func hasBranch(b ast.Node) bool {
	found := false
	inspect(b, func(n ast.Node) bool {
		if _, ok := n.(*ast.BranchStmt); ok {
			found = true
		}
		return !found
	})
	return found
}

// watching reports whether loop watches a context, a channel or a flag:
// its condition or body calls Done or Err, receives, selects, or loads an
// atomic.
func watching(p *pkg, loop ast.Node) bool {
	found := false
	inspect(loop, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectStmt:
			found = true
		case *ast.UnaryExpr:
			found = n.Op == token.ARROW
		case *ast.CallExpr:
			if name, sel := calleeName(n); sel && len(n.Args) == 0 && (name == "Done" || name == "Err") {
				found = true
			} else if a, ok := asAtomic(p.info, n); ok && a.base == "Load" {
				found = true
			}
		}
		return !found
	})
	return found
}

// loopOps makes the mutants of a watching loop: its own condition and
// bound, and the breaks and if conditions it holds (not those of loops
// nested in it, which are loops of their own).
func (g *gen) loopOps(loop ast.Node, cond ast.Expr, body *ast.BlockStmt) {
	if cond != nil {
		g.condOps(cond)
	}
	if r, ok := loop.(*ast.RangeStmt); ok && isInt(g.p.info.TypeOf(r.X)) {
		g.replace(OpBoundOff, r.X, "("+g.text(r.X)+")+1", "range "+g.text(r.X)+" runs once more")
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit, *ast.ForStmt, *ast.RangeStmt:
			return false
		case *ast.IfStmt:
			g.condOps(n.Cond)
		case *ast.BranchStmt:
			g.breakToContinue(n)
		}
		return true
	})
}

// isInt reports whether t is an integer type.
func isInt(t types.Type) bool {
	b, ok := t.(*types.Basic)
	if !ok {
		if t == nil {
			return false
		}
		b, ok = t.Underlying().(*types.Basic)
	}
	return ok && b.Info()&types.IsInteger != 0
}

// condOps inverts cond, and moves each of its bounds by one.
func (g *gen) condOps(cond ast.Expr) {
	g.replace(OpCondInvert, cond, "!("+g.text(cond)+")", "inverted: "+g.text(cond))
	flip := map[token.Token]string{token.LSS: "<=", token.LEQ: "<", token.GTR: ">=", token.GEQ: ">"}
	inspect(cond, func(n ast.Node) bool {
		b, ok := n.(*ast.BinaryExpr)
		if !ok || flip[b.Op] == "" {
			return true
		}
		g.add(OpBoundOff, b, g.text(b)+": "+b.Op.String()+" becomes "+flip[b.Op],
			[]edit{{g.off(b.OpPos), g.off(b.OpPos) + len(b.Op.String()), flip[b.Op]}})
		return true
	})
}

// breakToContinue makes a break of a watching loop a continue, where a
// continue is legal: an unlabelled break, or one whose label is a loop's.
func (g *gen) breakToContinue(b *ast.BranchStmt) {
	if b.Tok != token.BREAK {
		return
	}
	text := "continue"
	if b.Label != nil {
		switch g.labs[b.Label.Name].(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			text += " " + b.Label.Name
		default:
			return
		}
	}
	g.replace(OpBreakCont, b, text, g.text(b)+" becomes "+text)
}

// errIgnored drops the check of an error: if err != nil never holds, if
// err == nil always does.
func (g *gen) errIgnored(is *ast.IfStmt) {
	b, ok := ast.Unparen(is.Cond).(*ast.BinaryExpr)
	if !ok || b.Op != token.NEQ && b.Op != token.EQL {
		return
	}
	x := b.X
	if id, ok := x.(*ast.Ident); ok && id.Name == "nil" {
		x = b.Y
	} else if id, ok := b.Y.(*ast.Ident); !ok || id.Name != "nil" {
		return
	}
	if !isErrorType(g.p.info.TypeOf(x)) {
		return
	}
	text := "false && (" + g.text(is.Cond) + ")"
	if b.Op == token.EQL {
		text = "true || (" + g.text(is.Cond) + ")"
	}
	g.replace(OpErrIgnored, is.Cond, text, "the error is not checked: if "+g.text(is.Cond))
}
