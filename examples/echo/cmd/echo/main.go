// Command echo runs the echo server of package examples/echo until
// interrupted:
//
//	go run ./examples/echo/cmd/echo -addr localhost:7007 -loops 2
//
// It prints its process id and address at start-up. An address that
// another server already listens on is refused, unless -share asks to
// serve it alongside (the kernel then splits the connections between the
// servers).
//
// Exit status: 0 after an interrupt or SIGTERM, 1 if the server could not
// start or stop cleanly, 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/insideout-go/insideout/examples/echo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves as the command line args (without the program name) say
// until ctx is done, writing the start-up line to stdout and errors to
// stderr, and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:7007", "the `host:port` to listen on; the host an IPv4 address or a name (localhost)")
	loops := fs.Int("loops", runtime.GOMAXPROCS(0), "how many runtimes serve connections")
	share := fs.Bool("share", false, "serve the address even if another server listens on it; the kernel then splits the connections between them (SO_REUSEPORT)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "echo: unexpected arguments: %v\nsee 'echo -h'\n", fs.Args())
		return 2
	}
	s, err := echo.Config{Loops: *loops, Share: *share}.Listen(*addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		if errors.Is(err, echo.ErrServed) {
			fmt.Fprintln(stderr, "echo: pass -share to serve it alongside the other server (the kernel then splits the connections between them), or choose another -addr")
		}
		return 1
	}
	noun := "loops"
	if *loops == 1 {
		noun = "loop"
	}
	fmt.Fprintf(stdout, "echo: pid %d, listening on %s with %d %s; interrupt to stop\n", os.Getpid(), s.Addr(), *loops, noun)
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
