package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/corralhq/corral/protocol"
)

// benchStream streams a million 100-byte results (about 100 MB) to a client
// that reads as fast as it can, then to one that reads slowly, and reports
// the supervisor's peak memory in each: with flow control the slow reader
// makes the supervisor wait, not buffer.
func benchStream(ctx context.Context, cfg config) error {
	n := 1_000_000
	if cfg.quick {
		n = 100_000
	}
	fmt.Printf("stream of %d results of 100 bytes (%.0f MB) through pool.imap, 2 workers\n", n, float64(n)*110/1e6)
	for _, slow := range []bool{false, true} {
		rss, took, err := streamOnce(ctx, cfg, n, slow)
		if err != nil {
			return err
		}
		kind := "fast reader"
		if slow {
			kind = "slow reader"
		}
		fmt.Printf("  %s: %6.2f s, %6.2f M results/s, supervisor peak RSS %s\n", kind, took.Seconds(), float64(n)/took.Seconds()/1e6, mib(rss))
	}
	return nil
}

var (
	mapDone    = []byte(`{"jsonrpc":"2.0","method":"map.done"`)
	mapResults = []byte(`{"jsonrpc":"2.0","method":"map.results"`)
)

func streamOnce(ctx context.Context, cfg config, n int, slow bool) (int64, time.Duration, error) {
	c, err := startCorral(ctx, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	self, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	if _, err := c.CreatePool(ctx, protocol.PoolSpec{Name: "pad", Command: self, Args: []string{"pad-worker"}, Workers: 2}); err != nil {
		return 0, 0, err
	}
	// A raw connection, so that "slow" is the socket itself being read
	// slowly, with nothing buffering on the client's side.
	conn, err := net.Dial("unix", c.Socket())
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	items := make([]byte, 0, n*8)
	items = append(items, '[')
	for i := range n {
		if i > 0 {
			items = append(items, ',')
		}
		items = strconv.AppendInt(items, int64(i), 10)
	}
	items = append(items, ']')
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":1,"method":"corral.hello","params":{"protocol":"corral/1","role":"client","name":"bench"}}`+"\n")
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":2,"method":"pool.imap","params":{"pool":"pad","fn":"pad","chunksize":1000,"ordered":true,"map":"s","items":%s}}`+"\n", items)
	t := time.Now()
	if err := w.Flush(); err != nil {
		return 0, 0, err
	}
	r := bufio.NewReaderSize(conn, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read stream: %w", err)
		}
		if bytes.HasPrefix(line, mapDone) {
			break
		}
		if bytes.Contains(line, []byte(`"error"`)) && !bytes.HasPrefix(line, mapResults) {
			return 0, 0, fmt.Errorf("supervisor answered %s", line)
		}
		if slow {
			time.Sleep(2 * time.Millisecond) // per 1000 results
		}
	}
	took := time.Since(t)
	st, err := c.Status(ctx)
	if err != nil {
		return 0, 0, err
	}
	rss, err := peakRSS(st.Pid)
	return rss, took, err
}
