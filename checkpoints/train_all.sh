#!/usr/bin/env bash
# Reproduces the shipped explorer checkpoints (each run's config.json also records its command).
# Usage: bash checkpoints/train_all.sh DATA_ROOT [LANE]; lanes a and b can run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-data}
lane=${2:-all}
common=(--data-root "$root" --no-progress --set train.weights_dtype=float16 --set train.log_every=100)
run() {  # run OUT ARGS...: train unless finished, resuming after an interruption
  local out=$1; shift
  if [ -f "$out/state.pt" ]; then python -m latent_studio train --out "$out" --resume "${common[@]:0:3}"; else
    python -m latent_studio train --out "$out" "$@" "${common[@]}"; fi
}
if [ "$lane" = a ] || [ "$lane" = all ]; then
  run checkpoints/dcgan-mnist --model dcgan --dataset mnist --steps 4000 --set train.snapshot_every=500
  run checkpoints/sngan-mnist --model sngan --dataset mnist --steps 22000 --set 'train.augment=[]' --set train.snapshot_every=500
  run checkpoints/infogan-mnist --preset infogan-mnist --steps 7741 --set train.snapshot_every=1000
  run checkpoints/vae-2d-mnist --preset vae-2d --steps 1500 --set train.snapshot_every=500
  run checkpoints/acgan-fashion-mnist --model acgan --dataset fashion-mnist --steps 2000 --set train.snapshot_every=500
  run checkpoints/mode-collapse-mnist --preset mode-collapse --steps 1000 --set train.snapshot_every=250
  run checkpoints/convergence-failure-mnist --preset convergence-failure --steps 1000 --set train.snapshot_every=250
fi
if [ "$lane" = c ] || [ "$lane" = all ]; then  # the seed book's recipe for the same models and steps
  run checkpoints/seed-recipe/dcgan-mnist --model dcgan --dataset mnist --preset seed-mlp --steps 4000 --set train.snapshot_every=1000
  run checkpoints/seed-recipe/acgan-fashion-mnist --model acgan --dataset fashion-mnist --preset seed-mlp --steps 2000 \
    --set train.snapshot_every=1000
  run checkpoints/seed-recipe/infogan-mnist --model infogan --dataset mnist --preset seed-mlp --steps 7741 --set train.snapshot_every=1000
  run checkpoints/seed-recipe/wgan-gp-fashion-mnist --model wgan_gp --dataset fashion-mnist --preset seed-mlp --steps 3000 \
    --set train.snapshot_every=500
fi
if [ "$lane" = b ] || [ "$lane" = all ]; then
  faces=(--set train.snapshot_every=1000 --set arch.generator.width=32 --set arch.discriminator.width=32)
  run checkpoints/sngan-celeba --model sngan --dataset celeba --steps 16000 "${faces[@]}"
  run checkpoints/sngan-anime --model sngan --dataset anime --steps 13000 "${faces[@]}" --set 'train.augment=["translation","cutout"]'
  run checkpoints/wgan-gp-fashion-mnist --model wgan_gp --dataset fashion-mnist --steps 3000 --set train.snapshot_every=250 \
    --set arch.generator.width=32 --set arch.discriminator.width=32
fi
