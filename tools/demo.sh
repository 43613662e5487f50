#!/usr/bin/env bash
# The main job on the generated data (run by `make demo`): train a tiny
# ContraFusionNet and its transformer-only ablation with the same schedule,
# evaluate both, print the seed-style table and draw the pictures.
# Everything is written under $DEMO_DIR (default work_dirs/demo).
#
# Environment: DEMO_ITERS (default 400), DEMO_DIR, SYNTHETIC_CITYSCAPES_ROOT,
# GPUS (processes per model, default 2), DEMO_BENCH_RUNS (default 10), PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
export PYTHON
DEMO_DIR=${DEMO_DIR:-work_dirs/demo}
DEMO_ITERS=${DEMO_ITERS:-400}
GPUS=${GPUS:-2}
DEMO_BENCH_RUNS=${DEMO_BENCH_RUNS:-10}
export SYNTHETIC_CITYSCAPES_ROOT=${SYNTHETIC_CITYSCAPES_ROOT:-data/synthetic_cityscapes/}
DATA=${SYNTHETIC_CITYSCAPES_ROOT%/}
VAL_INTERVAL=$(( DEMO_ITERS / 2 > 0 ? DEMO_ITERS / 2 : 1 ))

CFN=configs/contrafusionnet/contrafusionnet_tiny_2xb2-400it_synthetic-256x256.py
MIT=configs/contrafusionnet/contrafusionnet_tiny-mit_2xb2-400it_synthetic-256x256.py
NAMES=(contrafusionnet transformer_only)
CONFIGS=("$CFN" "$MIT")

say() { printf '\n[demo] %s\n' "$*"; }

if [ ! -f "$DATA/train.txt" ]; then
  say "generating the synthetic Cityscapes-format data in $DATA"
  "$PYTHON" tools/dataset_converters/make_synthetic_cityscapes.py "$DATA"
  "$PYTHON" tools/dataset_converters/cityscapes.py "$DATA" --nproc 2
fi
mkdir -p "$DEMO_DIR"

for i in 0 1; do
  name=${NAMES[$i]}; cfg=${CONFIGS[$i]}; wd=$DEMO_DIR/$name
  say "training $name ($cfg), $DEMO_ITERS iterations on $GPUS CPU processes"
  rm -rf "$wd"
  PORT=$((29700 + i)) bash tools/dist_train.sh "$cfg" "$GPUS" --work-dir "$wd" \
    --cfg-options train_cfg.max_iters="$DEMO_ITERS" \
    train_cfg.val_interval="$VAL_INTERVAL" \
    default_hooks.checkpoint.interval="$DEMO_ITERS"
  say "testing $name"
  PORT=$((29710 + i)) bash tools/dist_test.sh "$cfg" "$wd/iter_$DEMO_ITERS.pth" "$GPUS" \
    --eval mIoU mDice --work-dir "$wd/test" --out "$wd/test/pred"
done

say "parameters and time per image (512x256, batch 1), measured in one run"
"$PYTHON" tools/analysis/benchmark.py "$CFN" "$MIT" --shape 256 512 \
  --runs "$DEMO_BENCH_RUNS" --warmup 3 --no-memory --out "$DEMO_DIR/benchmark.json"

say "pictures"
"$PYTHON" tools/visualization/predictions_grid.py \
  --model ContraFusionNet "$CFN" "$DEMO_DIR/contrafusionnet/iter_$DEMO_ITERS.pth" \
  --model "Transformer only" "$MIT" "$DEMO_DIR/transformer_only/iter_$DEMO_ITERS.pth" \
  --data-root "$DATA" --split val --num-images 4 --out "$DEMO_DIR/predictions.png"
"$PYTHON" tools/visualization/training_curves.py \
  "$DEMO_DIR/contrafusionnet" "$DEMO_DIR/transformer_only" \
  --label ContraFusionNet --label "Transformer only" --out "$DEMO_DIR/training_curves.png"
"$PYTHON" tools/visualization/feature_alignment.py "$CFN" \
  "$DEMO_DIR/contrafusionnet/iter_$DEMO_ITERS.pth" --data-root "$DATA" \
  --out "$DEMO_DIR/feature_alignment.png"
"$PYTHON" tools/visualization/per_class_iou.py "$DATA" \
  --pred ContraFusionNet "$DEMO_DIR/contrafusionnet/test/pred" \
  --pred "Transformer only" "$DEMO_DIR/transformer_only/test/pred" \
  --out "$DEMO_DIR/per_class_iou.png" --json "$DEMO_DIR/per_class_iou.json"

say "results (synthetic val; time per image on this machine's CPU)"
"$PYTHON" tools/analysis/results_table.py "$CFN" "$MIT" \
  --metrics "$CFN=$DEMO_DIR/contrafusionnet/test" "$MIT=$DEMO_DIR/transformer_only/test" \
  --bench "$DEMO_DIR/benchmark.json" --md "$DEMO_DIR/results.md" --csv "$DEMO_DIR/results.csv"

say "done. Results: $DEMO_DIR/results.md (and .csv); pictures:"
for f in predictions training_curves feature_alignment per_class_iou; do
  echo "  $DEMO_DIR/$f.png"
done
