#!/usr/bin/env bash
# The CUDA path, checked on a GPU machine in one go (no GPU on the development machines or in CI):
#   OUT=some/folder bash benchmarks/gpu_check.sh
# 1. the CUDA tests (tests/test_cuda.py, and tests/test_step.py's CUDA test) with the machine's python3 and torch;
# 2. benchmarks/train_speed.py on the GPU, with the torch.compile variants;
# 3. the full tutorial run (70,000 steps) on the GPU, timed, then evaluated on 10,000 samples.
# Logs, the run's 15x15 grid and its evaluation land in $OUT. Needs torch, numpy, pillow, matplotlib, safetensors,
# tqdm and pytest (the package itself is read from src/, no install).
set -uo pipefail
OUT=${OUT:-runs/gpu-check}
PY=${PY:-python3}
mkdir -p "$OUT"
export PYTHONPATH=src PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$OUT/gpu.txt"
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" 2>&1 | tee -a "$OUT/gpu.txt"
$PY -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_step.py -rs 2>&1 | tail -25 | tee "$OUT/tests.log"
$PY benchmarks/train_speed.py --device cuda --reps 5 --steps 500 --compile 2>&1 | tee "$OUT/speed.log"
RUN=$(mktemp -d)/tutorial-cuda
start=$SECONDS
$PY -m mnistgan train --preset tutorial --device cuda --quiet --out "$RUN" 2>&1 | tail -5 | tee "$OUT/train.log"

echo "tutorial preset, 70,000 steps on cuda: $((SECONDS - start)) s wall, including start-up and outputs" \
  | tee -a "$OUT/train.log"
cp "$RUN/samples_15x15.png" "$OUT/tutorial_cuda_samples.png" 2>/dev/null
tail -3 "$RUN/stats.jsonl" >> "$OUT/train.log"
$PY -m mnistgan eval "$RUN" --json "$OUT/tutorial_cuda_eval.json" 2>&1 | tail -30 | tee "$OUT/eval.log"
