//go:build race

package queue

// raceEnabled reports whether the tests were built with -race, which
// makes every atomic operation some twenty times slower: the long tests
// move fewer items then.
const raceEnabled = true
