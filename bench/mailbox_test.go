package bench

import (
	"fmt"
	"sync"
	"testing"

	"github.com/insideout-go/insideout/impl/mailbox"
)

// A channel-like pipe: blocking send and receive.
type pipe interface {
	send(*int)
	recv() *int
}

type mailboxPipe struct{ m *mailbox.Mailbox[int] }

func (p mailboxPipe) send(v *int) {
	if err := p.m.Send(v); err != nil {
		panic(err)
	}
}

func (p mailboxPipe) recv() *int {
	v, err := p.m.Recv()
	if err != nil {
		panic(err)
	}
	return v
}

type chanPipe chan *int

func (c chanPipe) send(v *int) { c <- v }
func (c chanPipe) recv() *int  { return <-c }

var pipes = []struct {
	name string
	new  func(capacity int) pipe
}{
	{"insideout", func(c int) pipe { return mailboxPipe{mailbox.New[int](c)} }},
	{"chan", func(c int) pipe { return chanPipe(make(chan *int, c)) }},
	{"mutex", func(c int) pipe { return newMutexPipe(c) }},
}

// BenchmarkMailbox moves b.N items from p senders to p receivers through
// one mailbox (or channel) with blocking Send and Recv; ns/op is per item.
func BenchmarkMailbox(b *testing.B) {
	for _, impl := range pipes {
		b.Run(impl.name, func(b *testing.B) {
			for _, pc := range []int{1, 2} {
				for _, capacity := range []int{1, 1024} {
					b.Run(fmt.Sprintf("%dp%dc/cap%d", pc, pc, capacity), func(b *testing.B) {
						blocking(b, impl.new(capacity), pc)
					})
				}
			}
		})
	}
}

func blocking(b *testing.B, p pipe, n int) {
	item := new(int)
	var wg sync.WaitGroup
	share := func(k int) int {
		c := b.N / n
		if k < b.N%n {
			c++
		}
		return c
	}
	b.ResetTimer()
	for k := range n {
		c := share(k)
		wg.Go(func() {
			for range c {
				p.send(item)
			}
		})
		wg.Go(func() {
			for range c {
				p.recv()
			}
		})
	}
	wg.Wait()
}

// BenchmarkMailboxPingPong sends one item back and forth between two
// goroutines through two unbuffered-like pipes of capacity 1: each side
// parks and is woken on every leg. ns/op is per round trip.
func BenchmarkMailboxPingPong(b *testing.B) {
	for _, impl := range pipes {
		b.Run(impl.name, func(b *testing.B) {
			ping, pong := impl.new(1), impl.new(1)
			item := new(int)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range b.N {
					pong.send(ping.recv())
				}
			}()
			b.ResetTimer()
			for range b.N {
				ping.send(item)
				pong.recv()
			}
			<-done
		})
	}
}
