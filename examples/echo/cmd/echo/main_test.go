package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/insideout-go/insideout/internal/testdeadline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// limit bounds every wait of these tests.
const limit = 10 * time.Second

// A server is a run of the command in the background.
type server struct {
	cancel context.CancelFunc
	code   chan int
	stderr *bytes.Buffer // read it only once the command has exited
	line   string        // the start-up line, if it printed one
}

// start runs the command with args until the test ends or stop is
// called, and waits for its start-up line, or for its exit if it prints
// none.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{cancel: cancel, code: make(chan int, 1), stderr: new(bytes.Buffer)}
	go func() {
		code := run(ctx, args, pw, s.stderr)
		pw.Close()
		s.code <- code
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case s.line = <-lines:
	case <-time.After(limit):
		t.Fatalf("echo %s: no start-up line within %v", strings.Join(args, " "), limit)
	}
	return s
}

// stop interrupts the server and returns its exit status.
func (s *server) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code := <-s.code:
		s.code <- code // for a second stop
		return code
	case <-time.After(limit):
		t.Fatalf("the server did not exit within %v of the interrupt", limit)
		return -1
	}
}

// addr returns the address of the server's start-up line, after checking
// that the line gives this process's id.
func (s *server) addr(t *testing.T) string {
	t.Helper()
	var pid int
	var addr string
	const format = "echo: pid %d, listening on %s with 1 loop; interrupt to stop"
	if _, err := fmt.Sscanf(s.line, format, &pid, &addr); err != nil || fmt.Sprintf(format, pid, addr) != s.line {
		t.Fatalf("start-up line %q, want %q", s.line, format)
	}
	if pid != os.Getpid() {
		t.Errorf("start-up line gives pid %d, want %d", pid, os.Getpid())
	}
	return addr
}

// A second server on a served address exits 1 at once and says to pass
// -share, which then lets it serve; both stop cleanly at an interrupt.
// The start-up line gives the process id. The bugs this catches: a second
// server that started silently on the first one's port, and no way to
// tell which process serves.
func TestSecondServer(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	first := start(t, "-addr", "127.0.0.1:0", "-loops", "1")
	addr := first.addr(t)

	refused := start(t, "-addr", addr, "-loops", "1")
	if refused.line != "" {
		t.Fatalf("a second server on %s started: %q", addr, refused.line)
	}
	if code := refused.stop(t); code != 1 {
		t.Errorf("a second server on %s: exit %d, want 1", addr, code)
	}
	if errs := refused.stderr.String(); !strings.Contains(errs, "already served") || !strings.Contains(errs, "pass -share") {
		t.Errorf("stderr %q does not say the address is served and what -share does", errs)
	}

	shared := start(t, "-addr", addr, "-loops", "1", "-share")
	if got := shared.addr(t); got != addr {
		t.Errorf("the shared server listens on %s, want %s", got, addr)
	}
	for _, s := range []*server{shared, first} {
		if code := s.stop(t); code != 0 {
			t.Errorf("exit %d after an interrupt, want 0 (stderr: %s)", code, s.stderr)
		}
	}
}

// -addr takes a host name. The bug this catches: localhost:7009 refused
// for not being an IP literal.
func TestHostName(t *testing.T) {
	s := start(t, "-addr", "localhost:0", "-loops", "1")
	if addr := s.addr(t); !strings.HasPrefix(addr, "127.") {
		t.Errorf("localhost:0 listens on %s, want a loopback address", addr)
	}
}

// Usage errors exit 2.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-bogus"}, {"extra"}} {
		s := start(t, args...)
		if code := s.stop(t); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}
