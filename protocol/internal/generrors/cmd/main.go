// Command generrors writes protocol/errors_gen.go from spec/errors.json.
package main

import (
	"log"
	"os"

	"github.com/corralhq/corral/protocol/internal/generrors"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: generrors spec/errors.json protocol/errors_gen.go")
	}
	src, err := os.ReadFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	out, err := generrors.Generate(src)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(os.Args[2], out, 0o644); err != nil {
		log.Fatal(err)
	}
}
