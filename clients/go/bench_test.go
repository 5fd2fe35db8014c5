package corral

import (
	"context"
	"testing"

	"github.com/corralhq/corral/protocol"
)

// BenchmarkMap1M pushes 1,000,000 ints through two doubler-go workers with
// one Map, end to end: encode, supervisor, workers, decode.
func BenchmarkMap1M(b *testing.B) {
	needCorral(b)
	ctx := context.Background()
	c, err := Start(ctx, StartOptions{Bin: corralBin, Stderr: &syncBuffer{}})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := c.Close(); err != nil {
			b.Error(err)
		}
	}()
	p, err := c.CreatePool(ctx, protocol.PoolSpec{Name: "bench", Command: doublerBin, Workers: 2})
	if err != nil {
		b.Fatal(err)
	}
	const n = 1_000_000
	items := make([]int, n)
	for i := range items {
		items[i] = i
	}
	for b.Loop() {
		out, err := Map[int](ctx, p, "double", items, benchOpts...)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) != n || out[n-1] != 2*(n-1) {
			b.Fatalf("got %d results", len(out))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

var benchOpts []MapOption
