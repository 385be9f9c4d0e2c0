# HeteroScale — the two commands a newcomer runs are `make demo` and `make test`.
# Both install the system libraries they need (apt-get as root, sudo otherwise) and build.

SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
# prometheus: /usr/bin/prometheus and /usr/bin/promtool for the real-Prometheus tests and the chart's rule tests
# (HETEROSCALE_SKIP_PROMETHEUS=1 skips them; without it a missing prometheus fails them).
APT_PACKAGES := libcurl4-openssl-dev libyaml-dev openssl python3 pkg-config prometheus
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps build release test demo doctor clean fuzz fuzz-ci

## Install missing system packages (Debian/Ubuntu).
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build $(SWIFT_BUILD_FLAGS)

release: deps
	$(SWIFT) build -c release $(SWIFT_BUILD_FLAGS)

## Run every test (unit, real peers on loopback: python3 HTTP server, openssl s_server, kubectl, helm, a real
## Prometheus and promtool: `promtool check rules` / `promtool test rules` on the chart's rules run as Swift tests).
test: deps
	tools/install-helm.sh
	$(SWIFT) build --build-tests $(SWIFT_BUILD_FLAGS)
	$(SWIFT) test --skip-build $(SWIFT_BUILD_FLAGS)

## The main job for now, on a release build: the CLI; the sandbox (main act: a simulated P/D cluster with the
## controller in one process, driven with kubectl: samples/sandbox/ scales out and in with the scenario's load);
## a replay of a recorded KPA burst through the real strategy code; the diurnal P/D simulation comparing nine
## policies (results in results/); doctor. (tools/demo_controller.sh, the controller as its own process with
## stand-in model servers, still runs by hand.)
HS := .build/release/heteroscale
demo: release
	$(HS) version
	@echo
	@echo "== heteroscale sandbox: 2 H100 + 3 H20 nodes, simulated vLLM pods, the controller; kubectl apply -f samples/sandbox/ =="
	@if command -v kubectl > /dev/null; then tools/demo_sandbox.sh $(HS); else echo "(skipped: kubectl is not installed)"; fi
	@echo
	@echo "== heteroscale replay: a KPA PodAutoscaler over recorded metrics =="
	$(HS) replay --autoscaler samples/autoscaling/kpa.yaml --metrics samples/replay/kpa-burst.csv
	@echo
	@echo "== heteroscale simulate: a compressed diurnal day of Azure conv requests on H100 prefill + H20 decode, nine policies =="
	$(HS) simulate samples/simulation/pd-conv-diurnal.yaml --out results/pd-conv-diurnal
	@echo
	@echo "== heteroscale doctor against a throw-away loopback API (heteroscale emulator) =="
	@rm -f .build/demo.kubeconfig; \
	$(HS) emulator --kubeconfig-out .build/demo.kubeconfig > .build/demo-emulator.log 2>&1 & pid=$$!; \
	for i in $$(seq 100); do [ -s .build/demo.kubeconfig ] && break; sleep 0.2; done; \
	command -v kubectl > /dev/null && kubectl --kubeconfig .build/demo.kubeconfig apply -f crds/ > /dev/null; \
	$(HS) doctor --kubeconfig .build/demo.kubeconfig; \
	kill -9 $$pid 2>/dev/null; true

clean:
	rm -rf .build .build-fuzz

## libFuzzer targets (Fuzz/; Linux, built into .build-fuzz with -sanitize=fuzzer,address): each for FUZZ_SECONDS
## (FUZZ_TARGETS to pick some). The long run and the results are in docs/fuzzing.md.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz: deps
	tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## What CI runs: every target for a few seconds (a smoke test of the targets and the sanitizer build).
fuzz-ci: deps
	tools/fuzz.sh 5

## Plots of a simulation's results (matplotlib in a local venv):
##   heteroscale simulate samples/simulation/pd-conv-diurnal.yaml --out results/pd-conv-diurnal; make plots
VENV ?= .venv
RESULTS ?= results/pd-conv-diurnal
PLOT_FLAGS ?= --slo-ttft-ms 2000 --slo-tbt-ms 80

$(VENV)/.matplotlib:
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet matplotlib
	touch $@

.PHONY: plots
plots: $(VENV)/.matplotlib
	$(VENV)/bin/python tools/plot_results.py $(RESULTS) $(PLOT_FLAGS)

## Plots of a sweep (`heteroscale sweep SWEEP.yaml --out DIR` or `--merge DIR`), matplotlib in the same venv:
##   heteroscale sweep samples/sweeps/conv.yaml --out results/sweeps/conv; make sweep-plots SWEEP=results/sweeps/conv
SWEEP ?= results/sweeps/conv

.PHONY: sweep-plots
sweep-plots: $(VENV)/.matplotlib
	$(VENV)/bin/python tools/plot_sweep.py $(SWEEP)

## Plots of a curation (`heteroscale curate CURATE.yaml --out DIR`), matplotlib in the same venv:
##   heteroscale curate samples/curation/conv.yaml --out results/curation/conv; make curate-plots CURATE=results/curation/conv
CURATE ?= results/curation/conv

.PHONY: curate-plots
curate-plots: $(VENV)/.matplotlib
	$(VENV)/bin/python tools/plot_curate.py $(CURATE)
