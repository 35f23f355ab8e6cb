# needlestorm: build, test, benchmark and run.
GO       ?= go
BIN      ?= bin/needlestorm
OUT      ?= runs/demo
BENCH    ?= .

.PHONY: build test bench run fmt vet clean

build:
	$(GO) build -o $(BIN) ./cmd/needlestorm

# The test command: vet, then every test with the race detector.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./...

# The main job: a short campaign against the built-in simulator, writing a
# report to $(OUT).
run: build
	$(BIN) run examples/campaigns/sim.yaml --out $(OUT) --overwrite

fmt:
	gofmt -w .

vet:
	$(GO) vet ./...

clean:
	rm -rf bin runs
