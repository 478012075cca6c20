// Command echo runs the echo server of package examples/echo until
// interrupted:
//
//	go run ./examples/echo/cmd/echo -addr 127.0.0.1:7007 -loops 2
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/insideout-go/insideout/examples/echo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7007", "the IPv4 address and port to listen on")
	loops := flag.Int("loops", runtime.GOMAXPROCS(0), "how many runtimes serve connections")
	flag.Parse()
	s, err := echo.Listen(*addr, *loops)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("echo: listening on %s with %d loops; interrupt to stop\n", s.Addr(), *loops)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
