package linearize

import (
	"fmt"
	"math/rand/v2"

	"pgregory.net/rapid"
)

// A Gen is the source of every random choice made while generating a
// program: which operation a client calls next and with what input. It
// draws either from a seeded PCG generator ([NewGen]), so that a seed
// replays a program exactly, or from rapid ([RapidGen]), so that rapid can
// shrink a failing program.
type Gen struct {
	intn   func(n int, label string) int
	unique int
	client int
}

// NewGen returns a Gen that draws from a PCG generator seeded with seed and
// stream.
func NewGen(seed, stream uint64) *Gen {
	r := rand.New(rand.NewPCG(seed, stream))
	return &Gen{intn: func(n int, _ string) int { return r.IntN(n) }}
}

// RapidGen returns a Gen that draws from t, so that rapid records, replays
// and shrinks every choice.
func RapidGen(t *rapid.T) *Gen {
	return &Gen{intn: func(n int, label string) int {
		return rapid.IntRange(0, n-1).Draw(t, label)
	}}
}

// Intn returns a number in [0, n), n > 0.
func (g *Gen) Intn(n int) int {
	if n <= 0 {
		panic(fmt.Sprintf("linearize: Gen.Intn(%d): n must be positive", n))
	}
	if n == 1 {
		return 0
	}
	return g.intn(n, "n")
}

// Unique returns 1, 2, 3, ... across the whole program: distinct values to
// push, so that every value taken out names the operation that put it in.
func (g *Gen) Unique() int {
	g.unique++
	return g.unique
}

// Client returns the client whose next operation is being generated.
func (g *Gen) Client() int { return g.client }
