// Package model holds the executable models of insideout's primitives:
// for each, a reference sequential implementation (the simplest obviously
// correct one: a slice, a map, a state machine) for property-based tests,
// and a porcupine model for checking concurrent histories.
//
// Models never import impl/: a model that called the code it checks would
// agree with every bug in it. Each model transcribes the rules written in
// package spec.
//
// To verify a primitive of your own, write its model here in the same
// shape: an input and an output type that record one call, a porcupine.Model
// whose Step applies the sequential rules to an immutable state, and
// Describe functions so that a failing history renders readably.
package model
