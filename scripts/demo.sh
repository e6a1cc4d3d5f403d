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
echo "== done: see $out/" >&2
