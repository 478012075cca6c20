//go:build race

package segment

// raceEnabled reports whether the tests were built with -race: the test
// that looks for data races runs longer then.
const raceEnabled = true
