#!/usr/bin/env bash
#===- examples/resnet-landscape/run.sh - ResNet loss landscapes ----------===#
#
# Li et al.'s figure (the lecture's figures 5 and 6) on Fashion-MNIST: a
# CIFAR-style ResNet trained with and without skip connections by
# nnc-train, then the loss over a plane of two filter-normalized random
# directions around each trained model, evaluated by the compiled forward
# (nnc-landscape --plane). Writes, under OUT:
#   resnet-{skip,noskip}.onnx        the exported models (export.py)
#   {skip,noskip}.weights            the trained weights (running stats too)
#   {skip,noskip}-train.log          nnc-train's report, test accuracy
#   {skip,noskip}-plane.csv          alpha, beta, train and test loss, accuracy
#   {skip,noskip}-plane-{train,test}.svg  the contour plots (log10 loss)
#   times.txt                        seconds per stage
#
#   examples/resnet-landscape/run.sh OUT
#
# The sizes are environment variables; the defaults are what the docs show
# (ResNet-20 on 20,000 images for 3 epochs, an 11 x 11 plane on 1,000
# training and 1,000 test images per point, about 25 minutes on the 2-core VM):
#   BLOCKS=3 EPOCHS=3 TRAIN_LIMIT=20000 GRID=11 SAMPLES=1000 RANGE=1
#
#===----------------------------------------------------------------------===#
set -euo pipefail

out=${1:?usage: run.sh OUT}
here=$(cd "$(dirname "$0")" && pwd)
bin=${NNC_BIN:-$here/../../build/bin}
python=${PYTHON:-/usr/bin/python3}
BLOCKS=${BLOCKS:-3} EPOCHS=${EPOCHS:-3} TRAIN_LIMIT=${TRAIN_LIMIT:-20000}
GRID=${GRID:-11} SAMPLES=${SAMPLES:-1000} RANGE=${RANGE:-1}
mkdir -p "$out"
: > "$out/times.txt"

for variant in skip noskip; do
  flags=()
  [ "$variant" = noskip ] && flags=(--no-skip)
  model="$out/resnet-$variant.onnx"
  "$python" "$here/export.py" "$model" --blocks "$BLOCKS" "${flags[@]}"
  start=$(date +%s)
  "$bin/nnc-train" "$model" --epochs "$EPOCHS" --train-limit "$TRAIN_LIMIT" \
    --progress never --save "$out/$variant.weights" | tee "$out/$variant-train.log"
  mid=$(date +%s)
  "$bin/nnc-landscape" "$model" --weights "$out/$variant.weights" \
    --line=false --plane --grid "$GRID" --range "$RANGE" \
    --train-samples "$SAMPLES" --test-samples "$SAMPLES" -o "$out/$variant"
  end=$(date +%s)
  echo "$variant: training $((mid - start)) s, plane $((end - mid)) s" | tee -a "$out/times.txt"
done
