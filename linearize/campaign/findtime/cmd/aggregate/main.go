// Command aggregate turns the output of the findtime benchmarks (package
// linearize/campaign/findtime) into a markdown table: for each known-bad
// implementation and strategy, the share of runs that found the bug
// within the limit, the median rounds and the median seconds to the find.
//
//	go run ./linearize/campaign/findtime/cmd/aggregate sched.txt chaos.txt > table.md
//
// By default every strategy that has a run is a column and every
// known-bad a row ("n/a" where a cell has no run). -strategies
// "dfs:2 dfs:2,limit=100" shows those columns only, and only the
// known-bads with runs in all of them.
//
// It reads the "findruns" lines the benchmarks log (standard input when
// no file is named). A run that did not find counts as later than every
// run that did: a median that falls on such a run is shown as "> limit".
// Lines of the same benchmark repeat (the testing package's probe with
// b.N = 1, then the measured run); each run is counted once, by its seed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// strategies are the table's columns, in order; a strategy not among
// them (dfs:2,limit=N, say) gets a column after them.
var strategies = []string{"free", "chaos", "random", "pct:3", "dfs:2"}

type run struct {
	found   bool
	rounds  int
	seconds float64
	kind    string
}

type cell struct {
	limit float64
	runs  map[string]run // by seed
}

func main() {
	long := flag.Bool("long", false, "a row per known-bad and strategy, with the kinds of failure, instead of a column per strategy")
	only := flag.String("strategies", "", "the columns to show, space-separated (default: every strategy that has a run)")
	flag.Parse()
	cells := map[string]map[string]*cell{} // target -> strategy -> cell
	var order []string
	read := func(r io.Reader) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			i := indexOf(f, "findruns")
			if i < 0 || i+3 >= len(f) {
				continue
			}
			name := strings.TrimPrefix(strings.TrimPrefix(f[i+1], "BenchmarkFind/"), "Benchmark")
			cut := strings.LastIndex(name, "/")
			if cut < 0 {
				return fmt.Errorf("a findruns line without a strategy: %q", sc.Text())
			}
			target, strat := name[:cut], name[cut+1:]
			lim, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(f[i+2], "limit="), "s"), 64)
			if err != nil {
				return fmt.Errorf("%q: %v", f[i+2], err)
			}
			if !slices.Contains(strategies, strat) {
				strategies = append(strategies, strat) // a column of its own, after the rest
			}
			if cells[target] == nil {
				cells[target] = map[string]*cell{}
				order = append(order, target)
			}
			c := cells[target][strat]
			if c == nil {
				c = &cell{limit: lim, runs: map[string]run{}}
				cells[target][strat] = c
			}
			for _, r := range f[i+4:] {
				p := strings.Split(r, ":")
				if len(p) != 5 {
					return fmt.Errorf("a run %q: want seed:found:rounds:seconds:kind", r)
				}
				rounds, err1 := strconv.Atoi(p[2])
				secs, err2 := strconv.ParseFloat(p[3], 64)
				if err1 != nil || err2 != nil {
					return fmt.Errorf("a run %q: bad numbers", r)
				}
				c.runs[p[0]] = run{found: p[1] == "1", rounds: rounds, seconds: secs, kind: p[4]}
			}
		}
		return sc.Err()
	}
	if flag.NArg() == 0 {
		if err := read(os.Stdin); err != nil {
			fail(err)
		}
	}
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fail(err)
		}
		err = read(f)
		f.Close()
		if err != nil {
			fail(fmt.Errorf("%s: %v", name, err))
		}
	}
	if len(order) == 0 {
		fail(fmt.Errorf("no findruns lines: run the benchmarks (see package findtime's doc)"))
	}
	// The columns: those asked for, or every strategy with a run; the
	// rows: every known-bad, or, with -strategies, those with runs in all
	// the columns asked for.
	var cols []string
	for _, s := range strategies {
		if *only != "" && !slices.Contains(strings.Fields(*only), s) {
			continue
		}
		for _, t := range order {
			if cells[t][s] != nil {
				cols = append(cols, s)
				break
			}
		}
	}
	strategies = cols
	if *only != "" {
		order = slices.DeleteFunc(order, func(t string) bool {
			return slices.ContainsFunc(cols, func(s string) bool { return cells[t][s] == nil })
		})
	}
	if len(order) == 0 {
		fail(fmt.Errorf("no runs of the strategies %q", *only))
	}
	if *long {
		fmt.Println("| known-bad | strategy | found | median rounds | median s | failures seen |")
		fmt.Println("| --- | --- | --- | --- | --- | --- |")
		for _, t := range order {
			for _, s := range strategies {
				c := cells[t][s]
				if c == nil {
					continue
				}
				found, rounds, secs := summary(c)
				fmt.Printf("| %s | %s | %s | %s | %s | %s |\n", t, s, found, rounds, secs, kinds(c))
			}
		}
		return
	}
	fmt.Print("| known-bad |")
	for _, s := range strategies {
		fmt.Printf(" %s |", s)
	}
	fmt.Print("\n| --- |")
	for range strategies {
		fmt.Print(" --- |")
	}
	fmt.Println()
	for _, t := range order {
		fmt.Printf("| %s |", t)
		for _, s := range strategies {
			c := cells[t][s]
			if c == nil {
				fmt.Print(" n/a |")
				continue
			}
			found, rounds, secs := summary(c)
			fmt.Printf(" %s · %s · %s |", found, rounds, secs)
		}
		fmt.Println()
	}
}

// summary returns a cell's share found ("k/n"), median rounds and median
// seconds. A run not found sorts after every found one.
func summary(c *cell) (found, rounds, secs string) {
	var rs []run
	k := 0
	for _, r := range c.runs {
		rs = append(rs, r)
		if r.found {
			k++
		}
	}
	found = fmt.Sprintf("%d/%d", k, len(rs))
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].found != rs[j].found {
			return rs[i].found
		}
		return rs[i].seconds < rs[j].seconds
	})
	// The median of n runs: the middle one, or the mean of the two
	// middle ones; censored if one of them did not find.
	lo, hi := rs[(len(rs)-1)/2], rs[len(rs)/2]
	if !lo.found || !hi.found {
		return found, "—", fmt.Sprintf("> %gs", c.limit)
	}
	rounds = fmtNum(medianOf(rs, func(r run) float64 { return float64(r.rounds) }, k))
	secs = fmtSecs((lo.seconds + hi.seconds) / 2)
	return found, rounds, secs
}

// medianOf is the median of v over the first k runs of rs (those found);
// rounds and seconds are ranked each on their own, within the runs that
// found, which hold the median when it is not censored.
func medianOf(rs []run, v func(run) float64, k int) float64 {
	n := len(rs)
	xs := make([]float64, 0, n)
	for _, r := range rs[:k] {
		xs = append(xs, v(r))
	}
	sort.Float64s(xs)
	// The runs not found rank above every found one, so the median of all
	// n lies at the same ranks among the found ones.
	return (xs[(n-1)/2] + xs[n/2]) / 2
}

func kinds(c *cell) string {
	n := map[string]int{}
	for _, r := range c.runs {
		n[r.kind]++
	}
	var ks []string
	for k := range n {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for i, k := range ks {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, n[k])
	}
	return b.String()
}

func fmtNum(x float64) string {
	if x == math.Trunc(x) {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}

func fmtSecs(s float64) string {
	switch {
	case s < 0.01:
		return fmt.Sprintf("%.1fms", s*1000)
	case s < 1:
		return fmt.Sprintf("%.0fms", s*1000)
	}
	return fmt.Sprintf("%.1fs", s)
}

func indexOf(f []string, s string) int {
	for i, x := range f {
		if x == s {
			return i
		}
	}
	return -1
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "aggregate:", err)
	os.Exit(1)
}
