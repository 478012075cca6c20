// Package spec is the contract of insideout: the result codes, flags and
// states its primitives report, and the sequential semantics each primitive
// must have, written as doc comments that are normative.
//
// An implementation in impl/ is correct when every concurrent history of
// its operations is linearizable with respect to the semantics stated here:
// each operation appears to take effect at one instant between its call and
// its return, in an order consistent with the sequential rules below. The
// models in model/ are executable transcriptions of these rules, written
// independently of impl/, and the harness in linearize/ checks recorded
// histories against them.
//
// Where a rule differs from the Nim original (insideout for Nim, which
// this project ports), the doc comment says so and why.
package spec
