# assetgate — run `make help` for the targets.
GO      ?= go
PKGS    ?= ./...
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: help run test generate lint bench bench-smoke bench-micro build console

help: ## show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

build: ## build ./assetgate
	$(GO) build -o assetgate .

run: ## run the server on the embedded defaults (SQLite in ./data, tokens in SQL) with a demo tenant
	$(GO) run . serve --demo

test: ## run every test and end with a summary: skips by reason, real parts used (PostgreSQL/Redis suites run when ASSETGATE_TEST_DATABASE_URL / ASSETGATE_TEST_REDIS_URL are set)
	./scripts/test.sh $(TESTFLAGS) $(PKGS)

console: ## rebuild the customer console (tools/console, needs Node.js and npm) into console/dist and console/trusted-documents
	./scripts/build-console.sh

generate: ## regenerate generated code
	$(GO) generate ./...

lint: ## gofmt check and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

bench: ## load benchmark beside the baseline server (about 7 minutes: each row after its baseline row, measured again); writes bench/results/latest.md
	$(GO) run ./bench/run

bench-smoke: ## 2-second run of every bench row: checks the harness and that every row answers without errors
	$(GO) run ./bench/run -smoke -duration 2s -warmup 300ms -c 8 -out ""

MICRO_PKGS ?= ./resource ./scopes ./jsonapi

bench-micro: ## Go micro-benchmarks of the hot pure functions, with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem $(MICRO_PKGS)
