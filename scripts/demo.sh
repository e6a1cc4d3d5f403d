#!/usr/bin/env bash
# The README's demo: a small end-to-end run of glorot in folder $1 (default: demo/).
set -euo pipefail
out="${1:-demo}"
glorot=".venv/bin/glorot"
mkdir -p "$out"
echo "== 1. Shapeset-3x2: 2000/500/500 images" >&2
$glorot gen-data shapeset -o "$out/shapeset.h5" --train 2000 --valid 500 --test 500 --seed 1 --force
echo "== 2. what is in the file" >&2
$glorot inspect "$out/shapeset.h5" --montage "$out/montage.png" --force
echo "== 3. train a small tanh net (3 x 256 units, 2000 updates, normalized init) with probes" >&2
$glorot train --data "$out/shapeset.h5" -a tanh -i normalized --depth 3 --width 256 \
    --steps 2000 --eval-every 500 --log-every 100 --probe-every 100 --seed 1 --threads 1 \
    -o "$out/tanhN.h5" --force
echo "== 4. what is in the run file" >&2
$glorot inspect "$out/tanhN.h5"
echo "== done: see $out/" >&2
