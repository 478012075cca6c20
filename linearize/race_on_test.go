//go:build race

package linearize_test

// raceEnabled reports whether the tests were built with -race.
const raceEnabled = true
