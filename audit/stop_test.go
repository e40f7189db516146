package audit_test

import (
	"context"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/imgconsent/imgconsent/audit"
	"github.com/imgconsent/imgconsent/audit/source"
	"github.com/imgconsent/imgconsent/internal/sample"
)

// stuckSource yields good items, then one whose read never returns and
// ignores cancellation, as a read on a hung network file system does.
type stuckSource struct {
	good    int
	release chan struct{}
}

func (s stuckSource) Items(ctx context.Context) iter.Seq2[source.Item, error] {
	jpg := sample.JPEG(sample.Photo(3, 120, 90), 80)
	return func(yield func(source.Item, error) bool) {
		for i := range s.good {
			key := "good-" + string(rune('a'+i))
			if !yield(source.Item{Key: key, Path: key, Read: func(int64) ([]byte, error) { return jpg, nil }}, nil) {
				return
			}
		}
		yield(source.Item{Key: "stuck", Path: "stuck", Read: func(int64) ([]byte, error) {
			<-s.release
			return nil, context.Canceled
		}}, nil)
	}
}

// A cancelled scan (Ctrl-C, SIGTERM) returns within seconds whatever a
// worker is blocked on, after yielding every record that was done.
func TestScanStopsWhileAWorkerIsStuck(t *testing.T) {
	src := stuckSource{good: 3, release: make(chan struct{})}
	defer close(src.release)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var got []string
	var final error
	start := time.Now()
	for rec, err := range audit.Scan(ctx, src, &audit.Options{Workers: 2}) {
		if err != nil {
			final = err
			break
		}
		got = append(got, rec.Key)
		if len(got) == 3 {
			cancel() // the stuck item is being read by now, or soon
		}
	}
	if elapsed := time.Since(start); elapsed > audit.StopGrace+3*time.Second {
		t.Errorf("the scan took %v to stop", elapsed)
	}
	if len(got) != 3 || final == nil || !strings.Contains(final.Error(), "stopped") {
		t.Errorf("records %v, final error %v", got, final)
	}
}
