# corral — build, demo, test, bench. Needs Go 1.26; the tests also use bash
# and python3.
GO ?= go
BIN := $(CURDIR)/bin

.PHONY: build demo test bench clean

build:
	$(GO) build -o $(BIN)/corral ./cmd/corral
	$(GO) build -o $(BIN)/doubler-go ./examples/doubler-go

# A pool of two Go workers doubles 5, 10, 15, 20, 25.
demo: build
	CORRAL_BIN=$(BIN)/corral $(GO) run ./examples/quickstart -worker $(BIN)/doubler-go

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

bench: build
	CORRAL_BIN=$(BIN)/corral $(GO) run ./bench

clean:
	rm -rf $(BIN)
