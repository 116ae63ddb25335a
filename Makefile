GO ?= go

.PHONY: all build test demo proto check-proto lint bench bench-smoke soak fuzz
all: build

build:
	$(GO) build -o bin/hush ./cmd/hush

# Every benchmark once (so they keep compiling and running; figures come
# from `make bench`), then every test under the race detector.
test: bench-smoke
	$(GO) test -race -count=1 -timeout=20m ./...

proto:
	rm -f proto/hush/v1/*.pb.go
	$(GO) tool -modfile=tools/go.mod buf generate

check-proto: proto
	@git diff --exit-code -- proto || (echo "generated protobuf code is stale: run 'make proto' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- proto)" || (git status --porcelain -- proto; echo "untracked generated files: run 'make proto' and commit" >&2; exit 1)

lint:
	$(GO) tool -modfile=tools/go.mod buf lint
	$(GO) vet ./...

# hush demo checks for node and npm itself (one line naming the packages
# if they are missing) and runs `npm ci` in e2e/ when needed.
demo: build
	./bin/hush demo

# Benchmarks: every Go benchmark (figures for bench/RESULTS.md), then the
# whole-process comparison with hyperfine (bench/compare.sh names its Debian
# packages).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 ./...
	bench/compare.sh

# Every benchmark once, so that they keep compiling and running.
bench-smoke:
	$(GO) test -run '^$$' -bench . -benchtime=1x -count=1 ./...

# The long reliability runs: 1,000 SIGKILLs during writes, 64 clients for
# 30 s with the daemon's RSS and descriptors watched. No -race: it would
# distort the memory figures.
soak:
	HUSH_SOAK=1 $(GO) test -count=1 -timeout=60m -v -run 'SIGKILL|Load|Hundred' ./internal/reliability

# Each fuzz target for FUZZTIME (CI runs bench/fuzz.sh 5s).
FUZZTIME ?= 60s
fuzz:
	bench/fuzz.sh $(FUZZTIME)
