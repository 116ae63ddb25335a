GO ?= go

.PHONY: all build test demo proto check-proto lint bench
all: build

build:
	$(GO) build -o bin/hush ./cmd/hush

test:
	$(GO) test -race -count=1 ./...

proto:
	rm -f proto/hush/v1/*.pb.go
	$(GO) tool -modfile=tools/go.mod buf generate

check-proto: proto
	@git diff --exit-code -- proto || (echo "generated protobuf code is stale: run 'make proto' and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- proto)" || (git status --porcelain -- proto; echo "untracked generated files: run 'make proto' and commit" >&2; exit 1)

lint:
	$(GO) tool -modfile=tools/go.mod buf lint
	$(GO) vet ./...

demo: build
	@test -d e2e/node_modules || (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
	./bin/hush demo
