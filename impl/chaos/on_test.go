//go:build chaos

package chaos

import "testing"

// The decisions are a function of the seed and the call count (so a seed
// replays the perturbation), differ between seeds, and come in the stated
// proportions: about 1/8 yields and 1/128 sleeps of 1 to 16 µs. A mixer
// that ignored the seed, or rates far off, would fail here.
func TestDecisions(t *testing.T) {
	const n = 1 << 16
	var yields, sleeps, same int
	for i := range uint64(n) {
		a, d := decide(42, i)
		if b, e := decide(42, i); a != b || d != e {
			t.Fatalf("decide(42, %d) is not deterministic", i)
		}
		if b, _ := decide(43, i); a == b {
			same++
		}
		switch a {
		case yield:
			yields++
		case sleep:
			sleeps++
			if d <= 0 || d > 16_000 {
				t.Fatalf("sleep of %v, want 1 to 16 µs", d)
			}
		}
	}
	if yields < n/8*8/10 || yields > n/8*12/10 {
		t.Errorf("%d yields in %d calls, want about %d", yields, n, n/8)
	}
	if sleeps < n/128*7/10 || sleeps > n/128*13/10 {
		t.Errorf("%d sleeps in %d calls, want about %d", sleeps, n, n/128)
	}
	if same == n {
		t.Error("seeds 42 and 43 make the same decisions")
	}
}

// SetSeed restarts the sequence: the n-th call after SetSeed(s) decides as
// decide(s, n).
func TestSetSeedRestarts(t *testing.T) {
	SetSeed(7)
	Point()
	Point()
	if got := calls.Load(); got != 2 {
		t.Fatalf("calls = %d after SetSeed and two Points, want 2", got)
	}
	SetSeed(9)
	if calls.Load() != 0 || seed.Load() != 9 {
		t.Fatal("SetSeed did not restart the sequence")
	}
}
