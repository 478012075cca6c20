package echo_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/examples/echo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// Many clients at once each send messages of random sizes, some larger
// than a socket buffer, and must get each back byte for byte; then Close
// stops the server and every fd it opened is closed. The bugs this
// catches: a connection that stops being served after an edge it missed
// (a read that stops before the socket would block), bytes lost when a
// write would block, connections mixed up, a loop that never wakes, and
// sockets or event-queue fds left open.
func TestEchoManyClients(t *testing.T) {
	before := openFDs(t)
	s, err := echo.Listen("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	const clients, messages = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for m := range messages {
				size := 1 + rng.IntN(64)
				if m == messages-1 {
					size = 256 << 10 // larger than the socket buffers: writes would block
				}
				msg := make([]byte, size)
				for j := range msg {
					msg[j] = byte(rng.Uint32())
				}
				go c.Write(msg) // the echo comes back while the rest is still being sent
				got := make([]byte, size)
				if _, err := io.ReadFull(c, got); err != nil {
					errs <- err
					return
				}
				if !bytes.Equal(got, msg) {
					errs <- io.ErrUnexpectedEOF
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if after := openFDs(t); after != before {
		t.Fatalf("fds: %d before the server, %d after Close", before, after)
	}
}

// Clients that hang up mid-message, or without sending anything, leave
// the server serving the others, and Close with connections still open
// closes them. The bugs this catches: a hang-up that stops a loop, and
// sockets of live connections left open by Close.
func TestHangUpsAndCloseWithOpenConnections(t *testing.T) {
	before := openFDs(t)
	s, err := echo.Listen("127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("half a mess"))
		c.Close()
	}
	open, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	open.SetDeadline(time.Now().Add(5 * time.Second))
	open.Write([]byte("ping"))
	got := make([]byte, 4)
	if _, err := io.ReadFull(open, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo %q, %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := open.Read(got); err == nil {
		t.Fatalf("read %d bytes from a connection the server closed", n)
	}
	open.Close()
	if after := openFDs(t); after != before {
		t.Fatalf("fds: %d before the server, %d after Close", before, after)
	}
}

// Bad addresses are errors, not panics.
func TestListenErrors(t *testing.T) {
	for _, addr := range []string{"", "localhost:80", "[::1]:0", "127.0.0.1"} {
		if s, err := echo.Listen(addr, 1); err == nil {
			s.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
	if _, err := echo.Listen("127.0.0.1:0", 0); err == nil {
		t.Error("Listen with no loops succeeded")
	}
}
