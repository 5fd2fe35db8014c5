// Package corral is the Go shim for corral, the language-agnostic worker
// pool that runs beside a program as a sidecar.
//
// It has two halves.
//
// A worker is a program the supervisor starts as part of a pool. It
// registers functions and serves them:
//
//	w := corral.NewWorker("doubler")
//	corral.Handle(w, "double", func(ctx context.Context, n int) (int, error) {
//		return 2 * n, nil
//	})
//	if err := w.Serve(ctx); err != nil { ... }
//
// A client (the driver) starts or dials the supervisor, creates pools and
// hands them work, much as Python's multiprocessing.Pool does:
//
//	c, err := corral.Start(ctx, corral.StartOptions{})
//	defer c.Close()
//	p, err := c.CreatePool(ctx, protocol.PoolSpec{Name: "d", Command: "./doubler", Workers: 4})
//	out, err := corral.Map[int](ctx, p, "double", []int{1, 2, 3})
//
// The supervisor also hosts shared objects any connection can use — a
// worker too, by dialing $CORRAL_SOCKET:
//
//	q := c.Queue("jobs")
//	err = q.Put(ctx, "x")
//	ok, err := c.Lock("db").Acquire(ctx) // a ctx deadline is acquire(timeout=…)
//	err = c.Value("counter").Add(ctx, 1, &n)
//	err = c.Object("barrier", "start").Call(ctx, "wait", nil, &res)
//
// A put to an unbounded queue and the release of a held lock return once
// sent, as multiprocessing.Queue.put does; see Client.Flush.
//
// Errors from the supervisor are *Error values that match the sentinels of
// this package with errors.Is (ErrTimeout, ErrWorkerLost, ...).
package corral
