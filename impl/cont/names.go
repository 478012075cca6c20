package cont

import "github.com/insideout-go/insideout/spec"

// The errors of moves, the same values as spec's: test them with
// errors.Is.
var (
	// ErrMove: a Goto could not send the continuation, or an Away's give
	// refused it; the error is a *MoveError, which wraps the mailbox's (or
	// give's) error.
	ErrMove = spec.ErrMove
	// ErrRemotePanicked: the remote part of a ComeFrom, a NovelThread or a
	// Call panicked (or finished without a result); its runtime's error
	// has the value and the stack.
	ErrRemotePanicked = spec.ErrRemotePanicked
	// ErrNoRuntime: NovelThread (or Call.ToNovel) was asked of a
	// continuation that no runtime runs: there is no Spawner in its
	// step's context.
	ErrNoRuntime = spec.ErrNoRuntime
)
