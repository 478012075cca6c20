//go:build race

package mailbox

// raceEnabled reports whether the tests were built with -race: the long
// tests move fewer items then.
const raceEnabled = true
