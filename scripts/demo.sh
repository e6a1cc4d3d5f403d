#!/usr/bin/env bash
# The README's demo, in folder $1 (default: demo/): what matches the paper, in about a minute.
#   1. Shapeset-3x2 data (a small file) and a montage of it;
#   2. two tanh nets of the paper's size (5 x 1000), standard vs normalized init, trained briefly:
#      at initialisation their activations narrow by 1/sqrt(3) per layer (standard) or stay flat
#      (normalized), and the Jacobians' mean singular value is about 0.5 vs 0.8 (paper, §4.2.2);
#   3. a depth-4 sigmoid net with the standard init at rate 0.1: its top layer saturates at 0
#      within about a thousand updates while the layers below sit above 0.5 (paper, Fig. 2);
#   4. the report in the terminal and the paper's figures as PNG in $1/figs.
set -euo pipefail
out="${1:-demo}"
glorot="${GLOROT:-.venv/bin/glorot}"
mkdir -p "$out"
echo "== 1. Shapeset-3x2: 2000/500/500 images, and a montage" >&2
$glorot gen-data shapeset -o "$out/shapeset.h5" --train 2000 --valid 500 --test 500 --seed 1 --force
$glorot inspect "$out/shapeset.h5" --montage "$out/montage.png" --force > /dev/null
for init in standard normalized; do
    echo "== 2. tanh, 5 x 1000, $init init: statistics at initialisation and over 600 updates" >&2
    $glorot train --data "$out/shapeset.h5" -a tanh -i "$init" --depth 5 --width 1000 \
        --steps 600 --eval-every 200 --log-every 100 --probe-every 100 --seed 1 --threads 1 \
        -o "$out/tanh-$init.h5" --force
done
echo "== 3. sigmoid, 4 x 1000, standard init, rate 0.1: the top layer saturates (Fig. 2)" >&2
$glorot train --data "$out/shapeset.h5" -a sigmoid -i standard --depth 4 --width 1000 --lr 0.1 \
    --steps 1500 --eval-every 500 --log-every 100 --probe-every 100 --jacobian-every none \
    --seed 1 --threads 1 -o "$out/sigmoid4.h5" --force
echo "== 4. the report: terminal, then the paper's figures as PNG" >&2
$glorot report "$out/tanh-standard.h5" "$out/tanh-normalized.h5" "$out/sigmoid4.h5"
$glorot report "$out/tanh-standard.h5" "$out/tanh-normalized.h5" "$out/sigmoid4.h5" \
    --png "$out/figs" --force
echo "== done: see $out/ (montage.png, figs/*.png); the same runs at full length: docs/reproduction.md" >&2
