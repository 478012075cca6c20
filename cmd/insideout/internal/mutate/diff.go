package mutate

import (
	"fmt"
	"strings"
)

// unified returns a unified diff of a and b, named name, with ctx lines of
// context: the lines the two do not share, by longest common subsequence
// (files are short enough for the quadratic table).
func unified(name, a, b string, ctx int) string {
	x, y := splitLines(a), splitLines(b)
	// Trim the common prefix and suffix: a mutant changes a few lines.
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	ops := lcsOps(x[pre:len(x)-suf], y[pre:len(y)-suf])
	type line struct {
		op   byte // ' ', '-', '+'
		text string
		i, j int // 1-based line numbers in a and b
	}
	var all []line
	for k := range pre {
		all = append(all, line{' ', x[k], k + 1, k + 1})
	}
	i, j := pre, pre
	for _, op := range ops {
		switch op {
		case ' ':
			all = append(all, line{' ', x[i], i + 1, j + 1})
			i, j = i+1, j+1
		case '-':
			all = append(all, line{'-', x[i], i + 1, j + 1})
			i++
		case '+':
			all = append(all, line{'+', y[j], i + 1, j + 1})
			j++
		}
	}
	for k := range suf {
		all = append(all, line{' ', x[i+k], i + k + 1, j + k + 1})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- a/%s\n+++ b/%s\n", name, name)
	for k := 0; k < len(all); {
		if all[k].op == ' ' {
			k++
			continue
		}
		// A hunk: from ctx lines before this change to ctx lines after the
		// last change within 2*ctx lines of the one before it.
		start := max(0, k-ctx)
		end := k
		for end < len(all) {
			if all[end].op != ' ' {
				end++
				continue
			}
			next := end
			for next < len(all) && next-end <= 2*ctx && all[next].op == ' ' {
				next++
			}
			if next < len(all) && next-end <= 2*ctx && all[next].op != ' ' {
				end = next
				continue
			}
			break
		}
		end = min(len(all), end+ctx)
		na, nb := 0, 0
		for _, l := range all[start:end] {
			if l.op != '+' {
				na++
			}
			if l.op != '-' {
				nb++
			}
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", all[start].i, na, all[start].j, nb)
		for _, l := range all[start:end] {
			sb.WriteByte(l.op)
			sb.WriteString(l.text)
			sb.WriteByte('\n')
		}
		k = end
	}
	return sb.String()
}

// splitLines splits s into lines, without their newlines.
func splitLines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lcsOps returns the edit script from x to y: ' ' keep, '-' delete, '+'
// insert, deletions before insertions within a change.
func lcsOps(x, y []string) []byte {
	n, m := len(x), len(y)
	t := make([][]int, n+1)
	for i := range t {
		t[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	var ops []byte
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			ops = append(ops, ' ')
			i, j = i+1, j+1
		case j == m || i < n && t[i+1][j] >= t[i][j+1]:
			ops = append(ops, '-')
			i++
		default:
			ops = append(ops, '+')
			j++
		}
	}
	return ops
}
