package mutate

import (
	"slices"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

// The runner names the times file by the variable testdeadline reads. The
// bug it catches: the two drifting apart, so that no test of insideout's
// ends early on a hang and every hang waits for the step's deadline.
func TestTimesEnvIsTestdeadlines(t *testing.T) {
	if timesEnv != testdeadline.TimesEnv {
		t.Fatalf("the runner sets %s, testdeadline reads %s", timesEnv, testdeadline.TimesEnv)
	}
}

// testTimes keeps each passing test's time (the longest of two packages'
// tests of one name), leaves failed and skipped ones out, and gives back
// the text, the go command's own lines included. The bug it catches: a
// failed test's time taken as its normal one, or the baseline's failure
// reported as JSON.
func TestTestTimes(t *testing.T) {
	out := []byte(`# a build line
{"Action":"run","Test":"TestA"}
{"Action":"output","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"pass","Test":"TestA","Elapsed":1.5}
{"Action":"pass","Package":"p2","Test":"TestA","Elapsed":0.5}
{"Action":"fail","Test":"TestB","Elapsed":9}
{"Action":"skip","Test":"TestC","Elapsed":0}
{"Action":"pass","Test":"TestA/sub","Elapsed":0.25}
{"Action":"pass","Elapsed":3}
`)
	times, text := testTimes(out)
	if want := "1.5 TestA\n0.25 TestA/sub\n"; string(times) != want {
		t.Errorf("times:\n%s\nwant:\n%s", times, want)
	}
	if want := "# a build line\n=== RUN   TestA\n"; string(text) != want {
		t.Errorf("text:\n%q\nwant:\n%q", text, want)
	}
	got := testdeadline.ParseTimes(string(times))
	if got["TestA"].Seconds() != 1.5 || len(got) != 2 {
		t.Errorf("testdeadline reads %v", got)
	}
}

// A mutant's go test stops at its first failing test (-failfast), with
// the overlay, -count=1 and the deadline; the baseline's runs every test,
// since each test's time is measured there, and a verify step gets no
// test flags. The bugs: a mutant's run that goes on after its kill (the
// time to kill is then the whole package's), or a baseline that stops
// early and leaves tests without a measured time.
func TestCommandFailsFastOnMutantsOnly(t *testing.T) {
	r := &runner{}
	test := Step{Name: "tests", Args: []string{"test", "./impl/queue/"}, Race: true}
	mutant := r.command(test, "overlay.json", true, time.Minute)
	want := []string{"test", "-overlay=overlay.json", "-count=1", "-timeout=1m0s", "-failfast", "-race", "./impl/queue/"}
	if !slices.Equal(mutant, want) {
		t.Errorf("mutant's command %q, want %q", mutant, want)
	}
	if base := r.command(test, "", true, time.Minute); slices.Contains(base, "-failfast") {
		t.Errorf("the baseline's command %q stops at a failure", base)
	}
	verify := Step{Name: "verify", Args: []string{"run", "./cmd/insideout", "verify"}}
	if got := r.command(verify, "overlay.json", false, time.Minute); slices.Contains(got, "-failfast") || slices.Contains(got, "-count=1") {
		t.Errorf("verify's command %q has go test's flags", got)
	}
}
