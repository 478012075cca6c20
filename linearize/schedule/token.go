package schedule

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/insideout-go/insideout/impl/seam"
)

// A Token names one schedule of one program: the scenario, how its
// program was generated, the strategy that found the schedule, every
// decision of the schedule, and a hash of its steps. Replaying it runs
// the same operations in the same order to the same verdict.
type Token struct {
	Scenario string // the scenario's name (a campaign part, such as mailbox-cap1)
	Seed     uint64 // the run's seed; with Round, fixes the program
	Round    int
	Clients  int // the scenario's clients and operations per client
	Ops      int
	Strategy string        // the strategy that found it, for the record
	Choices  []seam.Choice // every decision with more than one option
	Hash     uint64        // seam.Result.Hash of the schedule
}

const tokenPrefix = "io1."

// String encodes t as one word: io1. and URL-safe base64 of its
// compressed fields.
func (t Token) String() string {
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(t.Scenario)))
	b = append(b, t.Scenario...)
	b = binary.AppendUvarint(b, uint64(len(t.Strategy)))
	b = append(b, t.Strategy...)
	b = binary.AppendUvarint(b, t.Seed)
	b = binary.AppendUvarint(b, uint64(t.Round))
	b = binary.AppendUvarint(b, uint64(t.Clients))
	b = binary.AppendUvarint(b, uint64(t.Ops))
	b = binary.AppendUvarint(b, t.Hash)
	b = binary.AppendUvarint(b, uint64(len(t.Choices)))
	for _, c := range t.Choices {
		b = binary.AppendUvarint(b, uint64(c.N))
		b = binary.AppendUvarint(b, uint64(c.Picked))
	}
	var z bytes.Buffer
	w, _ := flate.NewWriter(&z, flate.BestCompression)
	w.Write(b)
	w.Close()
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(z.Bytes())
}

// ParseToken decodes a token made by Token.String.
func ParseToken(s string) (Token, error) {
	var t Token
	bad := func(why string) (Token, error) {
		return Token{}, fmt.Errorf("malformed replay token: %s", why)
	}
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, tokenPrefix) {
		return bad("it does not start with " + tokenPrefix)
	}
	z, err := base64.RawURLEncoding.DecodeString(s[len(tokenPrefix):])
	if err != nil {
		return bad("not URL-safe base64")
	}
	b, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 64<<20))
	if err != nil {
		return bad("it does not decompress")
	}
	r := &reader{b: b}
	t.Scenario = r.str()
	t.Strategy = r.str()
	t.Seed = r.uint()
	t.Round = r.int()
	t.Clients = r.int()
	t.Ops = r.int()
	t.Hash = r.uint()
	n := r.int()
	if r.err == nil && n > len(r.b) {
		r.err = errors.New("more decisions than bytes")
	}
	for i := 0; i < n && r.err == nil; i++ {
		c := seam.Choice{N: r.int(), Picked: r.int()}
		if r.err == nil && (c.N < 2 || c.Picked >= c.N) {
			r.err = fmt.Errorf("decision %d picks %d of %d", i, c.Picked, c.N)
		}
		t.Choices = append(t.Choices, c)
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("trailing bytes")
	}
	if r.err != nil {
		return bad(r.err.Error())
	}
	return t, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int() int {
	v := r.uint()
	if v > 1<<31 {
		if r.err == nil {
			r.err = errors.New("a count out of range")
		}
		return 0
	}
	return int(v)
}

func (r *reader) str() string {
	n := r.int()
	if r.err != nil {
		return ""
	}
	if n > len(r.b) {
		r.err = errors.New("truncated")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// Replay follows the decisions of a token. A run that leaves them (a
// decision with another number of options, or more decisions than the
// token has) stops, and Stopped says where.
type Replay struct {
	Choices []seam.Choice
	why     string
}

// Choose returns the token's pick for decision d.Choice.
func (r *Replay) Choose(d *seam.Decision) int {
	i := d.Choice
	switch {
	case i >= len(r.Choices):
		r.why = fmt.Sprintf("the run diverged from the token at step %d: decision %d, but the token has %d", d.Step, i, len(r.Choices))
		return -1
	case r.Choices[i].N != len(d.Runnable):
		r.why = fmt.Sprintf("the run diverged from the token at step %d (decision %d): %d goroutines could go on, the token says %d", d.Step, i, len(d.Runnable), r.Choices[i].N)
		return -1
	}
	return r.Choices[i].Picked
}

// Stopped says where the run left the token.
func (r *Replay) Stopped() string { return r.why }

// Check compares a replayed run with its token: an error if it left the
// token's decisions, or followed them to a different trace.
func (t Token) Check(res seam.Result) error {
	switch {
	case res.Outcome == seam.Stopped:
		return fmt.Errorf("stale token: %s; the code changed since it was made", strings.TrimPrefix(res.Failure, "stopped: "))
	case len(res.Choices) != len(t.Choices):
		return fmt.Errorf("stale token: the run made %d decisions, the token %d; the code changed since it was made", len(res.Choices), len(t.Choices))
	case res.Hash != t.Hash:
		return fmt.Errorf("stale token: the run followed the token's %d decisions, but its steps hash to %#x, not %#x: the code between the switch points changed", len(t.Choices), res.Hash, t.Hash)
	}
	return nil
}
