# The two set-up commands are `make up` and `make test`; the rest are their parts.
SHELL := /bin/bash
export MLK_DATA_DIR ?= $(CURDIR)/data
export MLK_REGISTRY_ADDR ?= 127.0.0.1:5000
export MLK_REGISTRY_URL ?= http://$(MLK_REGISTRY_ADDR)
# The registry's push side (htpasswd; docs/registry.md): `make examples` and `mlk build --push`
# push there with the password scripts/registry.sh keeps in $(MLK_DATA_DIR)/registry-password.
export MLK_REGISTRY_PUSH_ADDR ?= 127.0.0.1:5001
export MLK_REGISTRY_PUSH_URL ?= http://$(MLK_REGISTRY_PUSH_ADDR)
PY := .venv/bin/python
# `make up` says how long each step took, and the whole: $(call timed,COMMAND,WHAT).
ifndef MLK_UP_STARTED
MLK_UP_STARTED := $(shell date +%s)
endif
export MLK_UP_STARTED
timed = start=$$(date +%s); $(1) || exit 1; echo "up: $(2) ($$(( $$(date +%s) - start ))s)"
EXAMPLES := $(wildcard examples/models/*/mlk.yaml)

.PHONY: up down test setup registry examples singleuser hub lint typecheck bench

up: setup registry examples singleuser hub ## everything: engine, registry with example models, the hub
	@$(PY) -m mlrun_kernel.cli status
	@echo "up: all up in $$(( $$(date +%s) - $(MLK_UP_STARTED) ))s; make down stops it, and the next make up brings everything back"

down: ## stop the hub (its proxy, service and the users' servers) and the registry; data and homes stay
	@echo "down: stopping the hub, its proxy, the model service and the users' notebook servers"
	-@scripts/hub.sh stop
	@echo "down: stopping the registry"
	-@scripts/registry.sh stop $(MLK_DATA_DIR)/registry
	@echo "down: done; users, datasets, runs and results stay in $(MLK_DATA_DIR), homes in Docker volumes; make up brings them back"

setup: ## install and start what is missing (idempotent)
	@$(call timed,scripts/setup.sh,set-up checked)

registry: setup
	@$(call timed,scripts/registry.sh start $(MLK_REGISTRY_ADDR) $(MLK_DATA_DIR)/registry,registry ready)

examples: registry ## build, contract-test and push the example models the registry does not have yet
	@echo "up: publishing the $(words $(EXAMPLES)) example models (those not in the registry yet)"
	@$(call timed,$(PY) scripts/publish-examples.py $(dir $(EXAMPLES)),example models published)

singleuser: setup ## the single-user notebook image
	@echo "up: the single-user notebook image (first build: a few minutes; then cached)"
	@$(call timed,$(PY) scripts/build-singleuser.py,single-user image ready)

hub: setup ## the hub; with the demo accounts (demo-user, demo-expert, demo-admin) unless MLK_DEMO_ACCOUNTS=0
	@echo "up: starting the hub, its proxy and the model service"
	@$(call timed,MLK_DEMO_ACCOUNTS=$${MLK_DEMO_ACCOUNTS:-1} MLK_HUB_LOGINS=$(if $(filter up,$(MAKECMDGOALS)),0,1) scripts/hub.sh start,hub ready)

test: setup ## the whole suite; it starts the registry, database and hub it needs
	@$(PY) -m pytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check mlrun_kernel tests bench
typecheck:
	.venv/bin/mypy

bench: setup
	@for b in bench/bench_*.py; do $(PY) $$b || exit 1; done

# The PyTorch and TensorFlow templates (issue 11) download their frameworks at build time, so
# they are built and contract-tested here, not in `make test`; each prints its time and image size.
.PHONY: template-pytorch template-tensorflow template-check
template-pytorch: registry ## scaffold, build and mlk test the PyTorch template (not part of make test)
	@$(MAKE) --no-print-directory template-check TEMPLATE=pytorch
template-tensorflow: registry ## scaffold, build and mlk test the TensorFlow/Keras template (not part of make test)
	@$(MAKE) --no-print-directory template-check TEMPLATE=tensorflow
template-check:
	@dir=$(MLK_DATA_DIR)/templates/$(TEMPLATE); rm -rf $$dir; start=$$(date +%s); \
	$(PY) -m mlrun_kernel.cli init $$dir --template $(TEMPLATE) --name template-$(TEMPLATE) \
	&& if [ -d $$dir/wheels ]; then for d in $${PIP_FIND_LINKS:-}; do cp $$d/torch-*+cpu-*.whl $$dir/wheels/ 2>/dev/null; done; true; fi \
	&& $(PY) -m mlrun_kernel.cli build $$dir -q \
	&& $(PY) -m mlrun_kernel.cli test template-$(TEMPLATE):0.1.0 -q \
	&& echo "template $(TEMPLATE): built and tested in $$(( $$(date +%s) - start )) s;" \
	   "image $$(docker image inspect -f '{{.Size}}' $(MLK_REGISTRY_ADDR)/template-$(TEMPLATE):0.1.0) bytes"
