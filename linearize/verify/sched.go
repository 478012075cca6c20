package verify

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// A sched is the strategy that -sched names: free or chaos, which leave
// the scheduling to Go's scheduler, or a strategy of package
// linearize/schedule, under impl/seam's controlled scheduler.
type sched struct {
	name     string            // free or chaos; for a strategy, its String ("pct" gives "pct:3")
	strategy schedule.Strategy // nil for free and chaos
}

// controlled reports whether s runs rounds under the controlled scheduler.
func (s sched) controlled() bool { return s.strategy != nil }

// tag returns the build tag that s needs, or "".
func (s sched) tag() string {
	switch {
	case s.controlled():
		return "sched"
	case s.name == "chaos":
		return "chaos"
	}
	return ""
}

// label names s for the headers: its name, and for free in a build with
// -tags chaos, that the rounds are perturbed all the same.
func (s sched) label() string {
	if s.name == "free" && chaos.Enabled {
		return "free (perturbed all the same: a build with -tags chaos)"
	}
	return s.name
}

// defaultSched returns the default of -sched: pct:3 in a build with -tags
// sched, chaos in one with -tags chaos only, else free.
func defaultSched() string {
	switch {
	case seam.Enabled:
		return "pct:3"
	case chaos.Enabled:
		return "chaos"
	}
	return "free"
}

// parseSched reads the value of -sched: free, chaos, or a strategy that
// schedule.Parse takes.
func parseSched(v string) (sched, error) {
	switch v {
	case "free", "chaos":
		return sched{name: v}, nil
	}
	st, err := schedule.Parse(v)
	switch {
	case err != nil && strings.HasPrefix(err.Error(), "unknown schedule"):
		return sched{}, fmt.Errorf("-sched: %v (or free or chaos)", err)
	case err != nil:
		return sched{}, fmt.Errorf("-sched: %v", err)
	}
	return sched{name: st.String(), strategy: st}, nil
}

// missingTag returns, when this build lacks the tag that s needs, the one
// line that says so and what to run instead (the command line of verify
// args, with the tag); else "".
func missingTag(s sched, given string, args []string) string {
	built := map[string]bool{"sched": seam.Enabled, "chaos": chaos.Enabled}
	tag := s.tag()
	if tag == "" || built[tag] {
		return ""
	}
	return fmt.Sprintf("-sched %s needs a build with -tags %s: %s", given, tag, goRun(tag, append([]string{"verify"}, args...)))
}

// goRun returns the go run command line that runs this command with args,
// built with tag if not "".
func goRun(tag string, args []string) string {
	var b strings.Builder
	b.WriteString("go run ")
	if tag != "" {
		b.WriteString("-tags " + tag + " ")
	}
	b.WriteString(commandDir())
	for _, a := range args {
		b.WriteString(" " + shellQuote(a))
	}
	return b.String()
}

// commandDir returns the directory of the running command's main package,
// relative to its module's root, for a go run line: ./cmd/insideout for
// insideout's, the user's own for a command of theirs that calls Main, and
// ./cmd/insideout when it cannot tell (in a test).
func commandDir() string {
	const insideout = "./cmd/insideout"
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Path == "" || strings.HasSuffix(bi.Path, ".test") {
		return insideout
	}
	switch rest, found := strings.CutPrefix(bi.Path, bi.Main.Path+"/"); {
	case bi.Path == bi.Main.Path:
		return "."
	case found:
		return "./" + rest
	}
	return insideout
}

// shellQuote returns s as one word for a POSIX shell: as it is when it
// holds nothing the shell would read, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// freeRunning returns the names of the campaigns of selected that run
// free under a controlled s (Controlled false).
func freeRunning(s sched, selected []campaign.Campaign) []string {
	if !s.controlled() {
		return nil
	}
	var names []string
	for _, c := range selected {
		if !c.Controlled {
			names = append(names, c.Name)
		}
	}
	return names
}
