package bench

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/examples/echo"
)

// netEcho is the peer of examples/echo: a goroutine per connection,
// reading and writing back through package net (Go's netpoller).
type netEcho struct {
	ln net.Listener
	wg sync.WaitGroup
	mu sync.Mutex
	cs []net.Conn
}

func listenNetEcho() (*netEcho, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &netEcho{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.cs = append(s.cs, c)
			s.mu.Unlock()
			s.wg.Go(func() {
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			})
		}
	})
	return s, nil
}

func (s *netEcho) Addr() string { return s.ln.Addr().String() }

func (s *netEcho) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	for _, c := range s.cs {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// BenchmarkEcho drives an echo server on the loopback interface with 64
// client connections, each sending a 64-byte message and reading the echo
// before sending the next; b.N counts messages over all connections, so
// ns/op is per message echoed (round trips overlap across connections).
// insideout is examples/echo with GOMAXPROCS loops: a runtime per loop,
// its own listening socket (SO_REUSEPORT) and event queue, a continuation
// per connection. net is a goroutine per connection over package net.
// The clients, in this process, are the same for both: package net
// connections, one goroutine each.
func BenchmarkEcho(b *testing.B) {
	type server interface {
		Addr() string
		Close() error
	}
	servers := []struct {
		name   string
		listen func() (server, error)
	}{
		{"insideout", func() (server, error) { return echo.Listen("127.0.0.1:0", runtime.GOMAXPROCS(0)) }},
		{"net", func() (server, error) { return listenNetEcho() }},
	}
	const conns, size = 64, 64
	for _, sv := range servers {
		b.Run(sv.name, func(b *testing.B) {
			before := runtime.NumGoroutine()
			s, err := sv.listen()
			if err != nil {
				b.Fatal(err)
			}
			cs := make([]net.Conn, conns)
			for i := range cs {
				if cs[i], err = net.Dial("tcp", s.Addr()); err != nil {
					b.Fatal(err)
				}
				cs[i].SetDeadline(time.Now().Add(time.Minute))
			}
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			b.ReportAllocs()
			b.ResetTimer()
			for i, c := range cs {
				n := b.N / conns
				if i < b.N%conns {
					n++
				}
				wg.Go(func() {
					msg := make([]byte, size)
					got := make([]byte, size)
					for range n {
						if _, err := c.Write(msg); err != nil {
							errs <- err
							return
						}
						if _, err := io.ReadFull(c, got); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			for _, c := range cs {
				c.Close()
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			noLeak(b, before)
		})
	}
}
