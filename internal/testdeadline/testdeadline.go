// Package testdeadline gives every test that can wait a deadline of its
// own: a test still running when its deadline passes fails the test binary
// at once, with every goroutine's stack, rather than sleeping on until go
// test's ten-minute timeout kills it. A hang (a lost wake-up, a Join that
// never returns, a round stuck on a lock) is a failure in seconds, and the
// dump shows where each goroutine waits.
//
// Only tests import it. It costs a timer per test while the test runs,
// and no goroutine until the deadline passes.
package testdeadline

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Default is the deadline of a test that waits for other goroutines: well
// above what the slowest test takes under the race detector on a loaded
// two-core machine, and far below go test's ten minutes.
// INSIDEOUT_DEADLINE_SCALE (a positive integer) multiplies every deadline,
// for slow machines; INSIDEOUT_SOAK, which multiplies the stress suites'
// sizes, multiplies it too; and INSIDEOUT_DURATION, which makes runs of
// rounds last that long, adds ten times itself (a test runs a few such
// runs).
const Default = 60 * time.Second

// stretch returns d as the environment stretches it (see Default), or
// INSIDEOUT_DEADLINE where that is set: one deadline for every Guard and
// Within, as the tests that plant a hang use to see it fail in seconds.
func stretch(d time.Duration) time.Duration {
	if e, err := time.ParseDuration(os.Getenv("INSIDEOUT_DEADLINE")); err == nil && e > 0 {
		return e
	}
	for _, v := range []string{"INSIDEOUT_DEADLINE_SCALE", "INSIDEOUT_SOAK"} {
		if n, err := strconv.Atoi(os.Getenv(v)); err == nil && n > 1 {
			d *= time.Duration(n)
		}
	}
	if r, err := time.ParseDuration(os.Getenv("INSIDEOUT_DURATION")); err == nil && r > 0 {
		d += 10 * r
	}
	return d
}

// fuzzing reports whether this binary runs a fuzzer (go test -fuzz),
// whose length -fuzztime sets: a fuzz target's Guard then guards nothing.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// Guard gives t a deadline d (as the environment stretches it): if t, with its subtests,
// has not finished by then, the whole test binary fails with t's name and
// every goroutine's stack. Call it first thing in a test that can wait:
//
//	testdeadline.Guard(t, testdeadline.Default)
//
// The deadline ends with t's cleanups, so it covers the test and every
// subtest it runs.
func Guard(t testing.TB, d time.Duration) {
	t.Helper()
	if fuzzing() {
		return
	}
	name := t.Name()
	d = stretch(d)
	if took, ok := measured(name); ok {
		d = min(d, TimesFactor*took+TimesSlack)
	}
	timer := time.AfterFunc(d, func() { expire(name, d) })
	t.Cleanup(func() { timer.Stop() })
}

// Within runs f and fails t (with every goroutine's stack in the log) if
// f has not returned within d (stretched as Guard's): a call that can sleep
// for ever (a Recv, a Join, a Wait) fails the test in seconds rather than
// hanging it. f runs on a goroutine of its own and, if stuck, is left
// behind (goleak then reports it too); f must not call t.FailNow.
func Within(t testing.TB, d time.Duration, what string, f func()) {
	t.Helper()
	d = stretch(d)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("testdeadline: %s has not returned within %v: a hang; the goroutines:\n%s", what, d, Stacks())
	}
}

// Stacks returns the stack of every goroutine, as a panic with
// GOTRACEBACK=all would print them.
func Stacks() []byte {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) || len(buf) >= 64<<20 {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

var dumping sync.Mutex

// expire reports a test past its deadline and ends the test binary: the
// test is stuck, so nothing the testing package does after it would run.
func expire(name string, d time.Duration) {
	dumping.Lock() // one dump, should two deadlines pass at once
	fmt.Fprintf(os.Stderr, "\n--- FAIL: %s: testdeadline: still running after %v: a hang (or a test far slower than it should be); every goroutine's stack follows\n\n%s\n", name, d, Stacks())
	panic(fmt.Sprintf("testdeadline: %s still running after %v", name, d))
}

// TimesEnv names a file of the times the tests took on code known to be
// good, one test a line: seconds, a space, the test's name (as t.Name()
// gives it). Where it is set, a Guard of a test the file lists ends at
// TimesFactor times that test's time plus TimesSlack, if that comes
// before its own deadline: a hang then fails in seconds, where the
// deadline has to allow for the slowest machine. The mutation runner
// (cmd/insideout mutate) measures the times on the unmutated code and
// sets it for each mutant.
const TimesEnv = "INSIDEOUT_TEST_TIMES"

// The deadline of a test whose time TimesEnv gives: far enough above it
// that a loaded machine does not reach it, near enough that a hang is
// reported in seconds.
const (
	TimesFactor = 4
	TimesSlack  = 5 * time.Second
)

var times = sync.OnceValue(func() map[string]time.Duration {
	path := os.Getenv(TimesEnv)
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testdeadline: %s: %v\n", TimesEnv, err)
		return nil
	}
	return ParseTimes(string(b))
})

// ParseTimes reads the lines of a TimesEnv file; a line it cannot read is
// left out (its test keeps its own deadline).
func ParseTimes(s string) map[string]time.Duration {
	m := map[string]time.Duration{}
	for line := range strings.Lines(s) {
		secs, name, ok := strings.Cut(strings.TrimSpace(line), " ")
		f, err := strconv.ParseFloat(secs, 64)
		if !ok || err != nil || f < 0 || name == "" {
			continue
		}
		m[name] = time.Duration(f * float64(time.Second))
	}
	return m
}

// measured returns the time the TimesEnv file gives test name.
func measured(name string) (time.Duration, bool) {
	d, ok := times()[name]
	return d, ok
}
