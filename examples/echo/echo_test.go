package echo_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/examples/echo"
	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/testdeadline"
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

// fdsSettled returns the count of open fds once it is at most want, or
// after a second of waiting for it to be: fds that other goroutines close
// late must not count as leaked.
func fdsSettled(t *testing.T, want int) int {
	t.Helper()
	n := openFDs(t)
	for deadline := time.Now().Add(time.Second); n > want && time.Now().Before(deadline); n = openFDs(t) {
		time.Sleep(5 * time.Millisecond)
	}
	return n
}

// Many clients at once each send messages of random sizes, some larger
// than a socket buffer, and must get each back byte for byte; then Close
// stops the server and every fd it opened is closed. The bugs this
// catches: a connection that stops being served after an edge it missed
// (a read that stops before the socket would block), bytes lost when a
// write would block, connections mixed up, a loop that never wakes, and
// sockets or event-queue fds left open.
func TestEchoManyClients(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
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
	testdeadline.Guard(t, testdeadline.Default)
	for _, addr := range []string{"", "localhost:99999", "localhost", "[::1]:0", "127.0.0.1", "127.0.0.1:port"} {
		if s, err := echo.Listen(addr, 1); err == nil {
			s.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
	if _, err := echo.Listen("127.0.0.1:0", 0); err == nil {
		t.Error("Listen with no loops succeeded")
	}
}

// echoes checks that the server at addr echoes a message, within a bound.
func echoes(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo from %s: %q, %v", addr, got, err)
	}
}

// A second server on an address that one already serves is refused with
// ErrServed, whether the first is an echo server or any listener, and
// leaves no fd open. The bug this catches: SO_REUSEPORT let the second
// server start silently, and the kernel split the connections between the
// two.
func TestSecondServerRefused(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	first, err := echo.Listen("127.0.0.1:0", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	before := openFDs(t)
	if s, err := echo.Listen(first.Addr(), 1); !errors.Is(err, echo.ErrServed) {
		if err == nil {
			s.Close()
		}
		t.Errorf("a second server on %s: %v, want ErrServed", first.Addr(), err)
	}
	// An fd an earlier test's server is still closing may go meanwhile:
	// only more fds, for a while, is a leak.
	if after := fdsSettled(t, before); after > before {
		t.Errorf("fds: %d before the refused Listen, %d after", before, after)
	}

	// A listener of another kind, without SO_REUSEPORT.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if s, err := echo.Listen(l.Addr().String(), 1); !errors.Is(err, echo.ErrServed) {
		if err == nil {
			s.Close()
		}
		t.Errorf("a server on %s, where a plain listener listens: %v, want ErrServed", l.Addr(), err)
	}

}

// With Share, a second server on a served address starts, and both
// serve; a fresh address is not refused for want of Share either. The bug
// this catches: a refusal that sharing cannot get past.
func TestShare(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	first, err := echo.Listen("127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := echo.Config{Loops: 1, Share: true}.Listen(first.Addr())
	if err != nil {
		t.Fatalf("a shared second server on %s: %v", first.Addr(), err)
	}
	if second.Addr() != first.Addr() {
		t.Errorf("the second server listens on %s, want %s", second.Addr(), first.Addr())
	}
	for range 8 {
		echoes(t, first.Addr())
	}
	if err := second.Close(); err != nil {
		t.Fatal(err)
	}
	echoes(t, first.Addr()) // the first serves on
}

// A restarted server gets its address back although connections of the
// one before it are still in TIME_WAIT. The bug this catches: a check for
// a served address that took TIME_WAIT for a server, and refused a
// restart for a minute.
func TestRestartAfterClose(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	s, err := echo.Listen("127.0.0.1:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("ping"))
	io.ReadFull(c, make([]byte, 4))
	if err := s.Close(); err != nil { // the server hangs up first: its end goes to TIME_WAIT
		t.Fatal(err)
	}
	c.Read(make([]byte, 1)) // the server's end of file
	c.Close()
	again, err := echo.Listen(addr, 1)
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	defer again.Close()
	echoes(t, addr)
}

// A host name is accepted for the address. The bug this catches:
// localhost:7009 refused for not being an IP literal.
func TestHostName(t *testing.T) {
	s, err := echo.Listen("localhost:0", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.Addr(), "127.") {
		t.Errorf("localhost resolved to %s, want a loopback address", s.Addr())
	}
	echoes(t, s.Addr())
}
