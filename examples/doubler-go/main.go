// Command doubler-go is a corral worker serving one function, double,
// which returns twice its integer argument.
package main

import (
	"context"
	"fmt"
	"os"

	corral "github.com/corralhq/corral/clients/go"
)

func main() {
	w := corral.NewWorker("doubler-go")
	corral.Handle(w, "double", func(_ context.Context, n int) (int, error) {
		return 2 * n, nil
	})
	if err := w.Serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
