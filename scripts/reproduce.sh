#!/usr/bin/env bash
# The runs behind docs/results.md, on one thread each (about 6-25 minutes per run on a laptop
# core). Usage: scripts/reproduce.sh [OUT_DIR] ; set STEPS_LONG/STEPS_MID/STEPS_SHORT for longer budgets
# (the paper's curves run to 2.5M updates: STEPS_LONG=2500000).
set -euo pipefail
out="${1:-runs}"
glorot="${GLOROT:-.venv/bin/glorot}"
long="${STEPS_LONG:-100000}"
short="${STEPS_SHORT:-40000}"
mid="${STEPS_MID:-60000}"
mkdir -p "$out"
train() {  # name steps flags...
    local name=$1 steps=$2; shift 2
    [ -f "$out/$name.h5" ] && { echo "skip $name (exists)" >&2; return; }
    "$glorot" train --online --threads 1 --steps "$steps" --eval-size 2000 --lr 0.01 \
        -o "$out/$name.h5" "$@"
}
# Online Shapeset-3x2, 1000 units per layer, batch 10, lr 0.01 (paper: lr tuned per network).
train sig4      "$short" -a sigmoid  -i standard   --depth 4     # Fig. 2
train sig5      "$short" -a sigmoid  -i standard   --depth 5     # Table 1, Fig. 11
train tanh      "$long"  -a tanh     -i standard                 # Figs. 3, 4, 6-9
train tanhN     "$long"  -a tanh     -i normalized               # Figs. 6-10
train softsign  "$mid"   -a softsign -i standard                 # Figs. 3, 4
train softsignN "$mid"   -a softsign -i normalized               # Table 1, Fig. 11
"$glorot" report "$out"/*.h5 --png "$out/figs" --force
