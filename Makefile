# Two commands do all set-up on a fresh machine: `make train` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup train test lint bench notebook notebook-open dist

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

# The main job: the tutorial's GAN, 70,000 steps, into runs/tutorial. Run again, it continues a stopped run, or
# (finished) only redraws its figures.
train: setup
	if [ -f runs/tutorial/resume.pt ]; then $(VENV)/bin/mnistgan train --resume runs/tutorial; \
	else $(VENV)/bin/mnistgan train --preset tutorial --out runs/tutorial; fi

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks hubconf.py && $(VENV)/bin/ruff format --check src tests benchmarks hubconf.py

# The wheel and sdist, into dist/ (tests/test_package.py installs the wheel into a fresh venv and runs it there).
dist: setup
	$(PY) -m build --no-isolation --outdir dist .

bench: setup
	$(PY) benchmarks/train_speed.py

# The tutorial notebook: strip its outputs for git, execute it and render docs/gan_tutorial.md.
# Also writes the student edition, notebooks/gan_tutorial_student.ipynb, from the teacher's (notebooks/build.py).
notebook: setup
	$(PY) notebooks/build.py strip && $(PY) notebooks/build.py export

# The student edition in JupyterLab (the `notebook` extra, installed on first use), served on this machine only
# (127.0.0.1), with the venv's kernel. PORT=8899 make notebook-open picks another port. Jupyter refuses to run as
# root unless told; the flag is added only for root (containers, CI machines).
PORT ?= 8888
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
notebook-open: setup
	test -x $(VENV)/bin/jupyter-lab || $(PY) -m pip install -q -c constraints.txt -e '.[dev,notebook]'
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks $(AS_ROOT) \
		notebooks/gan_tutorial_student.ipynb

# Mutation testing of the core (docs/mutation.md): mutmut, one group of modules at a time, each against
# its fast test files, in build/mutation/<group>/. Slow (hours for every group on 2 cores); not part of `make test`.
# `make mutation GROUPS="ema losses"` runs some groups; MUTATION_ARGS="--max-children 2" tests two mutants at once.
GROUPS ?=
MUTATION_ARGS ?=
.PHONY: mutation
mutation: setup
	test -x $(VENV)/bin/mutmut || $(PY) -m pip install -q -c constraints.txt -e '.[mutation]'
	nice -n 19 $(PY) mutation/run.py $(MUTATION_ARGS) $(GROUPS)
