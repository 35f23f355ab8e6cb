# needlestorm: build, test, benchmark and run.
GO       ?= go
BIN      ?= bin/needlestorm
OUT      ?= runs/demo
BENCH    ?= .

# What `needlestorm version` says, linked into the binary (each one empty
# leaves the Go toolchain's build info to say it).
BUILD_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
BUILD_COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE    ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  = -X main.buildVersion=$(BUILD_VERSION) -X main.buildCommit=$(BUILD_COMMIT) -X main.buildDate=$(BUILD_DATE)

.PHONY: build test test-busy bench run fmt vet clean

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/needlestorm

# The test command: vet, then every test with the race detector.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 30m ./...

# The tests must hold on a loaded machine: vet and the tests three times
# in a row while two CPU-bound loops keep both cores busy (stopped after).
test-busy:
	@timeout 3600 sh -c 'while :; do :; done' & p1=$$!; \
	timeout 3600 sh -c 'while :; do :; done' & p2=$$!; \
	rc=0; for n in 1 2 3; do echo "test-busy: run $$n of 3"; \
	  $(GO) vet ./... && $(GO) test -race -count=1 -timeout 30m ./... || { rc=1; break; }; done; \
	kill $$p1 $$p2 2>/dev/null; exit $$rc

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
