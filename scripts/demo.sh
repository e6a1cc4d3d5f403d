#!/usr/bin/env bash
# The README's demo: a small end-to-end run of glorot in folder $1 (default: demo/).
# Data -> two trainings (tanh, standard vs normalized init) -> statistics -> report and PNGs.
set -euo pipefail
out="${1:-demo}"
glorot="${GLOROT:-.venv/bin/glorot}"
mkdir -p "$out"
echo "== 1. Shapeset-3x2: 2000/500/500 images" >&2
$glorot gen-data shapeset -o "$out/shapeset.h5" --train 2000 --valid 500 --test 500 --seed 1 --force
echo "== 2. what is in the file, and a montage of it" >&2
$glorot inspect "$out/shapeset.h5" --montage "$out/montage.png" --force
for init in standard normalized; do
    echo "== 3. train a tanh net, $init init (5 x 256 units, 2000 updates), recording every layer" >&2
    $glorot train --data "$out/shapeset.h5" -a tanh -i "$init" --depth 5 --width 256 \
        --steps 2000 --eval-every 500 --log-every 100 --probe-every 250 --seed 1 --threads 1 \
        -o "$out/tanh-$init.h5" --force
done
echo "== 4. what is in a run file" >&2
$glorot inspect "$out/tanh-normalized.h5" --json > "$out/tanh-normalized.json"
head -n 12 "$out/tanh-normalized.json"; echo "   ... (the rest in $out/tanh-normalized.json)"
echo "== 5. the report: terminal, then the paper's figures as PNG" >&2
$glorot report "$out/tanh-standard.h5" "$out/tanh-normalized.h5"
$glorot report "$out/tanh-standard.h5" "$out/tanh-normalized.h5" --png "$out/figs" --force
echo "== done: see $out/ (montage.png, figs/*.png)" >&2
