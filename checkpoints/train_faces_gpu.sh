#!/usr/bin/env bash
# The CelebA face model on a GPU, for a lent GPU's few minutes: the shipped SNGAN recipe at width 48
# and batch 128 (hinge loss, spectral-norm D, EMA of G, resize upsampling, DiffAugment colour and
# translation), for as many steps as SECONDS allow. The trainer saves its resume state every two
# minutes and again when `timeout` interrupts it, so a cut-off still leaves a run; run it again with
# the same OUT to go on. Then, on any machine: python -m latent_studio evaluate OUT --data-root ROOT
# Usage: bash checkpoints/train_faces_gpu.sh DATA_ROOT OUT [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$1
out=$2
seconds=${3:-480}
common=(--data-root "$root" --no-progress)
if [ -f "$out/state.pt" ]; then
  cmd=(python -m latent_studio train --out "$out" --resume "${common[@]}")
else
  cmd=(python -m latent_studio train --model sngan --dataset celeba --steps 100000 --batch-size 128 --out "$out" "${common[@]}"
       --set arch.generator.width=48 --set arch.discriminator.width=48 --set train.ema=0.999
       --set 'train.augment=["color","translation"]' --set train.checkpoint_seconds=120 --set train.snapshot_every=2000
       --set train.log_every=100 --set train.weights_dtype=float16)
fi
status=0
timeout -s INT "$seconds" "${cmd[@]}" || status=$?
# 124: the time ran out and the trainer stopped at a step boundary with its state saved.
if [ "$status" -ne 0 ] && [ "$status" -ne 124 ]; then exit "$status"; fi
python - "$out" <<'PY'
import json, sys
cfg = json.load(open(f"{sys.argv[1]}/config.json"))
print(f"{sys.argv[1]}: step {cfg['step']}, {cfg['card'].get('train_seconds', 0):.0f} s of training, {cfg['card'].get('hardware')}")
PY
