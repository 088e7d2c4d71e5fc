# entitybase-workers. `make dev` runs the whole system in one process; `make test` runs every test.
GO        ?= go
BIN       := bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# What `worker --version` and `starter --version` say: the git description of the checkout
# (also in worktrees, where the toolchain records no VCS information), else what -buildvcs
# records, else "(devel)".
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null)
BUILDFLAGS := -buildvcs=auto -ldflags "-X github.com/entitybase/entitybase-workers/internal/buildinfo.Version=$(VERSION)"

.PHONY: build dev test test-short bench lint compose-up clean

build:
	$(GO) build $(BUILDFLAGS) -o $(BIN)/worker ./worker
	$(GO) build $(BUILDFLAGS) -o $(BIN)/starter ./starter

# Embedded Temporal (SQLite under .dev/) + Web UI on :8233 + Kafka on :9092 + schema + worker.
dev: build
	./$(BIN)/starter dev up

# Unit and integration tests (integration needs MariaDB on 127.0.0.1:3306; .ci/run starts it).
test:
	$(GO) test -count=1 -timeout 45m ./...

test-short:
	$(GO) test -short -count=1 ./...

# Benchmarks; figures and how to read them are in docs/BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

lint:
	$(GO) vet ./...
	GOFLAGS= $(GO) run $(STATICCHECK) ./...

compose-up:
	docker compose -f docker-compose.temporal.yml up --build

clean:
	rm -rf $(BIN)
