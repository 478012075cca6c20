package backlog_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/insideout-go/insideout/impl/backlog"
)

// A program logs through slog as usual; the backlog writes the records on
// its own runtime, and Close, on the way out, writes whatever is left.
func Example() {
	noTime := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{} // for a stable output
		}
		return a
	}}
	h, err := backlog.New(os.Stdout, backlog.Format(backlog.TextFormat(noTime)))
	if err != nil {
		panic(err)
	}
	logger := slog.New(h).With("app", "demo")
	logger.Info("started", "port", 8080)
	logger.WithGroup("req").Warn("slow", "ms", 250)
	logger.Debug("not written: below the level")

	if err := h.Close(context.Background()); err != nil { // flush at exit
		fmt.Println("close:", err)
	}
	fmt.Printf("%+v\n", h.Stats())
	// Output:
	// level=INFO msg=started app=demo port=8080
	// level=WARN msg=slow app=demo req.ms=250
	// {Written:2 Failed:0 Dropped:0 Refused:0}
}

// With DropWhenFull, a caller never waits for the writer: a record that
// finds the mailbox full is counted, and Handle says so.
func ExampleDropWhenFull() {
	h, err := backlog.New(os.Stdout, backlog.Capacity(64), backlog.DropWhenFull(),
		backlog.Format(backlog.JSONFormat(&slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})))
	if err != nil {
		panic(err)
	}
	slog.New(h).Info("hello", "n", 1)
	_ = h.Close(context.Background())
	st := h.Stats()
	fmt.Println("written + dropped:", st.Written+st.Dropped)
	// Output:
	// {"level":"INFO","msg":"hello","n":1}
	// written + dropped: 1
}

// fullDisk is an io.Writer that has no room.
type fullDisk struct{}

func (fullDisk) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A write error stops the writing: OnError hears of it once, Close
// returns it, later records are refused with it, and Stats counts the
// records behind it.
func ExampleOnError() {
	h, err := backlog.New(fullDisk{}, backlog.OnError(func(err error) { fmt.Println("writer:", err) }))
	if err != nil {
		panic(err)
	}
	logger := slog.New(h)
	logger.Info("lost to the full disk, and counted")
	err = h.Close(context.Background())
	fmt.Println("close:", err, errors.Is(err, backlog.ErrWrite))
	fmt.Println("after:", h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelInfo, "late", 0)))
	fmt.Printf("%+v\n", h.Stats())
	// Output:
	// writer: backlog: write failed: no space left on device
	// close: backlog: write failed: no space left on device true
	// after: backlog: write failed: no space left on device
	// {Written:0 Failed:1 Dropped:0 Refused:1}
}
