//go:build !race

package cont_test

const raceEnabled = false
