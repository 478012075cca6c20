//go:build !chaos

package chaos

// Enabled reports whether this build was made with -tags chaos.
const Enabled = false

// Point marks a synchronisation point. Without -tags chaos it does nothing.
func Point() {}

// SetSeed chooses the seed of the perturbation. Without -tags chaos it does
// nothing.
func SetSeed(seed uint64) {}
