package audit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The budget never lets more than its limit be held, but always lets one
// holder in, however large.
func TestByteBudget(t *testing.T) {
	b := newByteBudget(100)
	var held, peak atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			n := int64(30 + i%3*10) // 30, 40, 50
			b.acquire(n)
			cur := held.Add(n)
			for {
				p := peak.Load()
				if cur <= p || peak.CompareAndSwap(p, cur) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			held.Add(-n)
			b.release(n)
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 100 || p < 60 {
		t.Errorf("peak %d, want at most the limit of 100 (and some overlap)", p)
	}
	if b.used != 0 {
		t.Errorf("%d bytes still held", b.used)
	}
	// One holder over the limit on its own gets in when nothing else is held.
	done := make(chan bool)
	go func() { b.acquire(500); b.release(500); done <- true }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("a file over the budget waited forever")
	}
}
