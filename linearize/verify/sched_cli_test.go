package verify

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/insideout-go/insideout/impl/chaos"
	"github.com/insideout-go/insideout/impl/seam"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/schedule"
)

// oneLine fails t unless errs is exactly the one line want.
func oneLine(t *testing.T, args []string, errs, want string) {
	t.Helper()
	if errs != want+"\n" {
		t.Errorf("%q: stderr\n%q\nwant the one line\n%q", args, errs, want+"\n")
	}
}

// A -sched that is not a strategy is a usage error that names the
// strategies, and runs nothing. The bug this catches: -sched bogus, or a
// depth out of range, silently running the campaigns free (or under the
// default) as if the strategy had been understood.
func TestSchedFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		sched, want string
	}{
		{"bogus", `-sched: unknown schedule "bogus": want random, pct[:depth] or dfs[:preemptions] (or free or chaos)`},
		{"pct:11", `-sched: schedule "pct:11": the depth must be a whole number from 1 to 10`},
		{"pct:0", `-sched: schedule "pct:0": the depth must be a whole number from 1 to 10`},
		{"dfs:-1", `-sched: schedule "dfs:-1": the preemption bound must be a whole number from 0 to 10`},
		{"dfs:x", `-sched: schedule "dfs:x": the preemption bound must be a whole number from 0 to 10`},
		{"random:2", `-sched: schedule "random:2": random takes no argument`},
		{"", `-sched: unknown schedule ""`},
	} {
		f := &fake{name: "a"}
		args := []string{"verify", "-duration", "1s", "-sched", tc.sched}
		code, out, errs := invoke(t, t.Context(), []campaign.Campaign{f.campaign()}, args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		if want := "insideout verify: " + tc.want; !strings.HasPrefix(errs, want) {
			t.Errorf("%q: stderr %q, want it to begin %q", args, errs, want)
		}
		if lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n"); len(lines) != 2 || lines[1] != "see 'insideout verify -h'" {
			t.Errorf("%q: stderr is %d line(s), want the error and where the usage is", args, len(lines))
		}
		if out != "" || f.ran {
			t.Errorf("%q: wrote %q to stdout, ran a campaign: %v", args, out, f.ran)
		}
	}
}

// A controlled strategy in a build without -tags sched, or chaos in one
// without -tags chaos, is one line that says what to run instead, the
// command as given with the tag, and runs nothing. The bugs this catches:
// every controlled campaign failing with seam.ErrDisabled as if the
// primitives were broken, or the run going on free while the user
// believes it explored schedules.
func TestSchedNeedsItsBuild(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	for _, tc := range []struct {
		sched, tag string
		built      bool
	}{
		{"pct", "sched", seam.Enabled},
		{"pct:2", "sched", seam.Enabled},
		{"random", "sched", seam.Enabled},
		{"dfs:1", "sched", seam.Enabled},
		{"chaos", "chaos", chaos.Enabled},
	} {
		if tc.built {
			continue // this build has the tag: TestSchedFreeAndChaosSetNoSchedule, sched_test.go
		}
		f := &fake{name: "a"}
		args := []string{"verify", "-sched", tc.sched, "-duration", "5s", "-only", "a"}
		code, out, errs := invoke(t, t.Context(), []campaign.Campaign{f.campaign()}, args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
		oneLine(t, args, errs, "insideout verify: -sched "+tc.sched+" needs a build with -tags "+tc.tag+": go run -tags "+tc.tag+" ./cmd/insideout verify -sched "+tc.sched+" -duration 5s -only a")
		if out != "" || f.ran {
			t.Errorf("%q: wrote %q to stdout, ran a campaign: %v", args, out, f.ran)
		}
	}
}

// -sched free (and chaos, in a chaos build) set no Options.Schedule: the
// campaigns run free, the headers say so, and the schedules column says
// free. The bug this catches: free passed on as a strategy, or the default
// of a -tags sched build (pct:3) applied though free was asked for.
func TestSchedFreeAndChaosSetNoSchedule(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	names := []string{"free"}
	if chaos.Enabled {
		names = append(names, "chaos")
	}
	for _, name := range names {
		f := &fake{name: "a", sum: linearize.Summary{Rounds: 2}}
		code, out, errs := invoke(t, t.Context(), []campaign.Campaign{f.campaign()}, "verify", "-duration", "1s", "-sched", name)
		if code != exitPass {
			t.Fatalf("-sched %s: exit %d, want %d", name, code, exitPass)
		}
		if f.opts.Schedule != nil {
			t.Errorf("-sched %s: the campaign got Schedule %v, want none", name, f.opts.Schedule)
		}
		if !strings.Contains(errs, ", schedule "+name) || !regexp.MustCompile(`(?m)^seed 0x[0-9a-f]+, schedule `+name).MatchString(out) {
			t.Errorf("-sched %s: a header does not say which schedule ran", name)
		}
		want := "free"
		if chaos.Enabled {
			want = "chaos"
		}
		if r := row(out, "a"); r == nil || r["schedules"] != want {
			t.Errorf("-sched %s: row %v, want schedules %q", name, r, want)
		}
		if strings.Contains(out, "not under the controlled scheduler") {
			t.Errorf("-sched %s: says that campaigns ran free of a controlled scheduler that did not run", name)
		}
		if got, want := verdictLine(out), "verify: PASS: 1 campaign, 2 rounds, 0 failures"; got != want {
			t.Errorf("-sched %s: verdict %q, want %q", name, got, want)
		}
	}
}

// insideout replay with a malformed token, no token or two is one line
// (with where the usage is, for a wrong number of arguments) and exit
// status 2; so is a well-formed token in a build without -tags sched,
// which says what to run instead. The bugs this catches: a garbled
// token (cut short by a terminal, say) read as a schedule that "passes",
// and an ordinary build answering PASS for a schedule it cannot run.
func TestReplayErrors(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	all := campaign.All()
	for _, tc := range []struct {
		args []string
		want string // the first line of stderr
		see  bool   // and where the usage is
	}{
		{[]string{"replay", "io1.x"}, "insideout replay: malformed replay token: not URL-safe base64", false},
		{[]string{"replay", "io2.AAAA"}, "insideout replay: malformed replay token: it does not start with io1.", false},
		{[]string{"replay", "io1.AAAA"}, "insideout replay: malformed replay token: it does not decompress", false},
		{[]string{"replay"}, "insideout replay: no token given: insideout replay io1.… (a failure under -sched prints its token)", true},
		{[]string{"replay", "io1.a", "io1.b"}, "insideout replay: want one token, not 2 arguments: io1.a io1.b", true},
		{[]string{"replay", "-x"}, "insideout replay: flag provided but not defined: -x", true},
	} {
		code, out, errs := invoke(t, t.Context(), all, tc.args...)
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d", tc.args, code, exitUsage)
		}
		want := tc.want
		if tc.see {
			want += "\nsee 'insideout replay -h'"
		}
		oneLine(t, tc.args, errs, want)
		if out != "" {
			t.Errorf("%q: wrote %q to stdout", tc.args, out)
		}
	}

	if seam.Enabled {
		return // a token of a real failure: sched_test.go
	}
	tok := schedule.Token{Scenario: "queue", Seed: 0x2a, Round: 3, Clients: 2, Ops: 3, Strategy: "pct:3",
		Choices: []seam.Choice{{N: 2, Picked: 1}}, Hash: 0x1234}.String()
	args := []string{"replay", tok}
	code, out, errs := invoke(t, t.Context(), all, args...)
	if code != exitUsage {
		t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
	}
	oneLine(t, args, errs, "insideout replay: replaying a schedule needs a build with -tags sched: go run -tags sched ./cmd/insideout replay "+tok)
	if out != "" {
		t.Errorf("%q: wrote %q to stdout", args, out)
	}
}

// A failure that carries a token is printed with insideout replay as its
// exact replay, and with whether it replays: verify replays the token
// once with the campaigns and says "replays exactly" only when the replay
// reproduces the failure by the same steps. The bugs this catches: a
// ReplayExact naming the test's INSIDEOUT_TOKEN, meaningless on the
// command line; a token printed without checking that it replays (as
// shuttle checks); and a replay that passes, or leaves the token's
// steps, called exact.
func TestVerifyChecksTheTokenReplays(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	tok := schedule.Token{Scenario: "fake-scenario", Seed: 0x2a, Round: 3, Clients: 2, Ops: 3, Strategy: "pct:3",
		Choices: []seam.Choice{{N: 2, Picked: 1}, {N: 3, Picked: 0}}, Hash: 0xfeed}
	failure := func() *linearize.Failure {
		return &linearize.Failure{Scenario: "fake-scenario", Seed: 0x2a, Round: 3, Verdict: linearize.Illegal,
			Token: tok.String(), Schedule: "3 goroutines, 40 steps, 2 decisions, 1 preemptions", Program: "    client 0: push(1)\n"}
	}
	for _, tc := range []struct {
		name   string
		replay error // what the campaign's Replay returns
		want   string
	}{
		{"reproduced", failure(), "replays exactly: same steps (trace hash 0xfeed)"},
		{"ends otherwise", &linearize.Failure{Hung: true}, "DOES NOT REPLAY: the same steps (trace hash 0xfeed) ended differently: Illegal, then a hang" + nondeterminism},
		{"passes", nil, "DOES NOT REPLAY: the schedule passed when replayed" + nondeterminism},
		{"stale", errors.New("stale token: the run made 1 decisions, the token 2; the code changed since it was made"),
			"DOES NOT REPLAY: stale token: the run made 1 decisions, the token 2; the code changed since it was made" + nondeterminism},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var replayed []schedule.Token
			bad := &fake{name: "bad", sum: linearize.Summary{Rounds: 4, Histories: 4, Illegal: 1}, err: failure()}
			cp := bad.campaign()
			cp.Replay = func(got schedule.Token) error {
				replayed = append(replayed, got)
				return tc.replay
			}
			code, _, errs := invoke(t, t.Context(), []campaign.Campaign{cp}, "verify", "-duration", "1s", "-report-dir", t.TempDir())
			if code != exitFail {
				t.Fatalf("exit %d, want %d", code, exitFail)
			}
			if len(replayed) != 1 || replayed[0].String() != tok.String() {
				t.Fatalf("the campaign replayed %v, want the failure's token once", replayed)
			}
			if want := "\n  replay exactly: go run -tags sched ./cmd/insideout replay " + tok.String() + "\n"; !strings.Contains(errs, want) {
				t.Errorf("stderr lacks %q", want)
			}
			if !strings.Contains(errs, "\n"+tc.want+"\n") {
				t.Errorf("stderr lacks the line %q", tc.want)
			}
			if n := strings.Count(errs, "REPLAY"); tc.name == "reproduced" && n != 0 {
				t.Errorf("a token that replays exactly is said not to")
			}
		})
	}
}

// The command lines verify prints quote what a shell would read.
func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"pct:3":       "pct:3",
		"queue,mine":  "queue,mine",
		"0x2a":        "0x2a",
		"a b":         "'a b'",
		"it's":        `'it'\''s'`,
		"":            "''",
		"$TOKEN":      "'$TOKEN'",
		"/tmp/r dir/": "'/tmp/r dir/'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
