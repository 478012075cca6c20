// Package echo is a TCP echo server built from runtimes, event queues and
// continuations: the seed's way of serving many connections on a few
// threads, written in Go.
//
// # Design
//
// The server has one polling runtime per loop (one per CPU is the usual
// choice), each with a listening socket of its own on the same address
// (SO_REUSEPORT: the kernel spreads incoming connections over them) and
// the runtime's local event queue (package impl/eventq). Everything a
// loop does is a continuation in that queue:
//
//   - the acceptor watches its listening socket (eventq.Watch, edge-
//     triggered): at each firing it accepts every pending connection and
//     registers a connection continuation for each, then gives itself
//     back to its registration;
//   - a connection continuation is registered once, edge-triggered, for
//     reading and writing: at each firing it writes what it still owes
//     and reads and echoes until the socket would block, then gives
//     itself back; at end of file or an error it closes the socket and
//     finishes, which ends its registration.
//
// A loop's runtime runs these a step at a time and sleeps in epoll_wait
// when none is ready. Nothing blocks inside a step: every socket is
// non-blocking, and would-block is the cue to give the continuation back.
//
// Close halts every runtime (each wakes from its event queue at once),
// joins them, and closes every socket still open.
//
// # Sharing an address
//
// SO_REUSEPORT would also let a second server bind the address of a
// running one, and the kernel would then split the connections between
// them without a word. Listen refuses an address that a socket already
// listens on (ErrServed), unless Config.Share asks for sharing: before it
// makes its own sockets, it binds the address with a plain socket, without
// SO_REUSEPORT, which fails while anything listens there. (Two servers
// started in the same instant may both pass that test.)
package echo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/insideout-go/insideout/impl/cont"
	"github.com/insideout-go/insideout/impl/eventq"
	"github.com/insideout-go/insideout/impl/rt"
	"golang.org/x/sys/unix"
)

// Server is a running echo server. Its methods are safe for concurrent
// use.
type Server struct {
	addr  netip.AddrPort
	loops []*loop
}

// A loop is one runtime with its listening socket and its connections.
type loop struct {
	r   *rt.Runtime
	lfd int
	// conns maps each connection continuation to its socket; only the
	// loop's runtime touches it until the runtime is joined.
	conns map[*cont.C]int
	err   error // why the acceptor stopped, if it did
}

// Config is how a server listens.
type Config struct {
	// Loops is how many runtimes serve connections, each accepting on a
	// listening socket of its own; at least one.
	Loops int
	// Share lets the server listen on an address that another socket
	// already listens on, with SO_REUSEPORT: the kernel then splits the
	// connections between them. Without it, such an address is refused
	// with ErrServed.
	Share bool
}

// ErrServed is the error, wrapped, of Listen on an address that another
// socket already listens on, without Config.Share.
var ErrServed = errors.New("the address is already served (another socket listens on it)")

// resolveTimeout bounds the look-up of a host name.
const resolveTimeout = 5 * time.Second

// Listen starts a server on addr with loops runtimes: Config{Loops:
// loops}.Listen(addr).
func Listen(addr string, loops int) (*Server, error) {
	return Config{Loops: loops}.Listen(addr)
}

// Listen starts a server on addr, a host and port: the host an IPv4
// address or a name that resolves to one (localhost:7007), empty for
// every interface; port 0 picks one. It fails if the address is served
// already and c.Share is false (ErrServed), or if a socket cannot be made,
// bound or listened on, or a runtime cannot be spawned; what it made is
// then released.
func (c Config) Listen(addr string) (*Server, error) {
	if c.Loops < 1 {
		return nil, fmt.Errorf("echo: %d loops: need at least one", c.Loops)
	}
	ap, err := resolve(addr)
	if err != nil {
		return nil, err
	}
	if !c.Share && ap.Port() != 0 {
		if err := unserved(ap); err != nil {
			return nil, err
		}
	}
	s := &Server{addr: ap}
	for range c.Loops {
		lfd, err := listen(s.addr)
		if err != nil {
			s.Close()
			return nil, err
		}
		if s.addr.Port() == 0 { // the port the kernel chose, for the other loops
			sa, err := unix.Getsockname(lfd)
			if err != nil {
				unix.Close(lfd)
				s.Close()
				return nil, fmt.Errorf("echo: getsockname: %w", err)
			}
			s.addr = netip.AddrPortFrom(s.addr.Addr(), uint16(sa.(*unix.SockaddrInet4).Port))
		}
		l := &loop{lfd: lfd, conns: make(map[*cont.C]int)}
		if l.r, err = rt.Spawn(l.acceptor(), rt.Name("echo")); err != nil {
			unix.Close(lfd)
			s.Close()
			return nil, err
		}
		s.loops = append(s.loops, l)
	}
	return s, nil
}

// resolve parses addr as host:port, looking the host up if it is a name,
// and returns its first IPv4 address with the port.
func resolve(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("echo: address %q: want host:port, the host an IPv4 address or a name", addr)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("echo: address %q: port %q is not a number from 0 to 65535", addr, port)
	}
	if host == "" {
		return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(p)), nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip = ip.Unmap(); !ip.Is4() {
			return netip.AddrPort{}, fmt.Errorf("echo: address %q: want an IPv4 address", addr)
		}
		return netip.AddrPortFrom(ip, uint16(p)), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("echo: address %q: %w", addr, err)
	}
	if len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("echo: address %q: %s has no IPv4 address", addr, host)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(p)), nil
}

// unserved returns ErrServed, wrapped, if a socket listens on addr: it
// binds a socket there without SO_REUSEPORT, which the kernel refuses
// while one listens, and closes it. The socket has SO_REUSEADDR, so that
// the connections of an earlier server still in TIME_WAIT are no reason
// to refuse.
func unserved(addr netip.AddrPort) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("echo: socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fmt.Errorf("echo: setsockopt: %w", err)
	}
	switch err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}); {
	case errors.Is(err, unix.EADDRINUSE):
		return fmt.Errorf("echo: %v: %w", addr, ErrServed)
	case err != nil:
		return fmt.Errorf("echo: bind %v: %w", addr, err)
	}
	return nil
}

// listen makes a non-blocking listening socket on addr, sharing the
// address with the other loops' sockets.
func listen(addr netip.AddrPort) (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("echo: socket: %w", err)
	}
	sa := &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
	for _, opt := range []int{unix.SO_REUSEADDR, unix.SO_REUSEPORT} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("echo: setsockopt: %w", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("echo: bind %v: %w", addr, err)
	}
	if err := unix.Listen(fd, 1024); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("echo: listen: %w", err)
	}
	return fd, nil
}

// Addr returns the address the server listens on.
func (s *Server) Addr() string { return s.addr.String() }

// Close stops the server: it halts every loop's runtime, joins it, and
// closes its listening socket and every connection still open. It
// returns what went wrong in the loops, if anything.
func (s *Server) Close() error {
	for _, l := range s.loops {
		l.r.Halt()
	}
	var errs []error
	for _, l := range s.loops {
		if err := l.r.Join(); err != nil {
			errs = append(errs, err)
		}
		if l.err != nil {
			errs = append(errs, l.err)
		}
		for _, fd := range l.conns {
			unix.Close(fd)
		}
		unix.Close(l.lfd)
	}
	s.loops = nil
	return errors.Join(errs...)
}

// acceptor returns the loop's first continuation: it watches the listening
// socket, and at each firing accepts every pending connection.
func (l *loop) acceptor() *cont.C {
	var accept cont.Step
	accept = func(ctx context.Context, c *cont.C) cont.Step {
		if err := cont.MoveErr(ctx); err != nil {
			l.err = err // the watch was refused
			return nil
		}
		q, err := eventq.FromContext(ctx)
		if err != nil {
			l.err = err
			return nil
		}
		for {
			fd, _, err := unix.Accept4(l.lfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
			switch err {
			case nil:
			case unix.EAGAIN:
				return c.Next() // back to the registration until more come
			case unix.EINTR, unix.ECONNABORTED:
				continue
			default:
				l.err = fmt.Errorf("echo: accept: %w", err)
				return nil
			}
			cc := l.conn(fd)
			if _, err := q.Register(fd, eventq.Read|eventq.Write|eventq.NoPeer|eventq.Edge, cc); err != nil {
				unix.Close(fd)
				continue
			}
			l.conns[cc] = fd
		}
	}
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		return eventq.Watch(ctx, c, l.lfd, eventq.Read|eventq.Edge, accept)
	})
}

// conn returns the continuation serving the connection on fd: at each
// firing it writes what it owes, then reads and echoes until the socket
// would block; at end of file or an error it closes the socket and
// finishes.
func (l *loop) conn(fd int) *cont.C {
	buf := make([]byte, 4096)
	var out []byte // read and not yet written back
	return cont.New(func(ctx context.Context, c *cont.C) cont.Step {
		for {
			if len(out) > 0 {
				n, err := unix.Write(fd, out)
				switch {
				case err == unix.EAGAIN:
					return c.Next() // until the socket can take more
				case err == unix.EINTR:
					continue
				case err != nil:
					return l.hangUp(c, fd)
				}
				out = out[n:]
				continue
			}
			n, err := unix.Read(fd, buf)
			switch {
			case err == unix.EAGAIN:
				return c.Next() // until more comes
			case err == unix.EINTR:
				continue
			case err != nil || n == 0:
				return l.hangUp(c, fd)
			}
			out = buf[:n]
		}
	})
}

// hangUp closes a connection's socket and finishes its continuation,
// which ends its registration.
func (l *loop) hangUp(c *cont.C, fd int) cont.Step {
	unix.Close(fd)
	delete(l.conns, c)
	return nil
}
