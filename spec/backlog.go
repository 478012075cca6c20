package spec

import (
	"context"
	"errors"
	"log/slog"
)

// The errors of a backlog's Handle and Close.
var (
	// ErrBacklogClosed: the record came after Close; it was not accepted.
	ErrBacklogClosed = errors.New("backlog: closed: record not accepted")
	// ErrBacklogFull: the mailbox was full and the record was dropped
	// (the drop policy), or a blocking Handle's context ended before there
	// was room; the record was not accepted and is counted Dropped.
	ErrBacklogFull = errors.New("backlog: full: record dropped")
	// ErrBacklogWrite: writing to the backlog's io.Writer failed; the
	// error wraps the writer's own. Writing stops for good.
	ErrBacklogWrite = errors.New("backlog: write failed")
)

// BacklogStats counts what became of the records given to a backlog.
// Every record given to Handle is counted once, in one of the four
// fields, once Close has returned: accepted records are Written or
// Failed, and the others were Dropped or Refused.
type BacklogStats struct {
	// Written: records whose bytes the io.Writer took in full.
	Written uint64
	// Failed: accepted records not written in full: those behind a write
	// error (a failed write may have written some of their bytes), and
	// those the formatting handler failed on.
	Failed uint64
	// Dropped: records not accepted for lack of room: a full mailbox under
	// the drop policy, or a blocking Handle whose context ended first.
	Dropped uint64
	// Refused: records not accepted because the backlog was closed, or
	// its writer had failed.
	Refused uint64
}

// Backlog is the contract of an asynchronous log handler: the Nim
// original's backlog (callers hand records to a mailbox and return at
// once, one runtime writes them out, nothing is lost at shutdown) as a
// log/slog Handler.
//
// Sequential semantics. The state is whether the backlog is closed,
// whether its writer has failed, and the sequence A of accepted records.
//
//   - Handle(ctx, r) on an open backlog whose writer has not failed
//     accepts r (a copy of it: the caller may reuse r) and returns nil,
//     appending it to A; or, with the drop policy and no room, returns
//     ErrBacklogFull, accepting nothing; or, with the blocking policy,
//     waits for room and returns ErrBacklogFull, accepting nothing, if ctx
//     ends first. On a closed backlog it returns ErrBacklogClosed; after a
//     write failure, an error matching ErrBacklogWrite; neither accepts r.
//   - Enabled(ctx, l) reports whether l is at or above the level.
//   - WithAttrs and WithGroup return handlers that share the backlog: its
//     state, its writer and its order. Records handled through them carry
//     the attributes and groups, as the formatting handler renders them.
//   - Close(ctx) closes the backlog (A accepts nothing more) and waits
//     until every accepted record is written or counted Failed; it
//     returns nil, the write error (matching ErrBacklogWrite), or ctx's
//     error if ctx ends first (the writing goes on: a later Close waits
//     again). Closing a closed backlog changes nothing.
//   - Stats() returns the counts of BacklogStats.
//
// Output. The writer writes the records of A in the order of A, each
// exactly once, through the formatting handler (slog's TextHandler by
// default), so that the bytes are those a synchronous handler of the same
// kind would write for the same records. If a write fails, the records
// written before it are a prefix of A and every other record of A is
// counted Failed; the error is the one Close returns and the error
// callback receives.
//
// Concurrency. Handle and Close are linearizable: each Handle that
// returns nil takes its place in A at one instant between its call and
// its return, so each goroutine's records are written in its order, and
// a Handle that begins after Close has returned is never accepted.
//
// Liveness. Close returns once everything accepted is written (or the
// writer has failed), however many goroutines still call Handle; a
// blocking Handle waits only while the mailbox is full, and Close or a
// write failure ends its wait (ErrBacklogClosed, or the write error).
type Backlog interface {
	slog.Handler
	Close(ctx context.Context) error
	Stats() BacklogStats
}
