//go:build race

package cont_test

// raceEnabled reports whether the tests were built with -race.
const raceEnabled = true
