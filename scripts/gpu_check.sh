#!/usr/bin/env bash
# One prepared call on a CUDA machine: install kiln, prove the GPU path, time it.
# Results go to $OUT (the device tool brings them back), each part's as soon as it ends.
# The call must carry the wheels: run(command="bash scripts/gpu_check.sh", carry=[".whl"]).
# Usage there:
#   bash scripts/gpu_check.sh [parts...]   parts: train tabm images bench bench_gpu transformer text step_parts
#   (default: all, in that order; step_parts is a diagnosis, last so it is the one cut short)
# KILN_GPU_BUDGET_S (default 570) bounds the whole script: each part gets what is left, so one
# that hangs cannot cost the others' figures or run past the tool's 600 s limit.
set -uo pipefail
OUT=${OUT:-/tmp/kiln-gpu-out}
BUDGET=${KILN_GPU_BUDGET_S:-570}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
exec > >(tee -a "$LOG") 2>&1
TEE=$!
finish() { echo "=== done $(date +%T), ${SECONDS} s"; exec >&- 2>&-; wait "$TEE"; }
trap finish EXIT
export PYTHONUNBUFFERED=1 KILN_RUNS=/tmp/kiln-runs
if [ -d .whl ]; then  # hydra-core, omegaconf, antlr4 are not installed on the GPU image
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
# the source tree first, so a failed editable install (a read-only environment) costs nothing
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
python3 -m pip install -q --no-deps --no-build-isolation -e . || echo "(no editable install; kiln runs from src/)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, lightning, hydra, omegaconf, kiln.tasks.train; print('torch', torch.__version__, 'lightning', lightning.__version__, 'hydra', hydra.__version__, 'cuda', torch.cuda.is_available())" || exit 1

run_part() {  # run_part NAME CMD...: the command, bounded by the time left
  local left=$((BUDGET - SECONDS))
  if [ "$left" -lt 20 ]; then echo "SKIPPED: $1 (time budget spent)"; return; fi
  local name=$1; shift
  timeout --signal=INT --kill-after=10 "$left" "$@" || echo "FAILED: $name (exit $?)"
}

parts=${*:-train tabm images bench bench_gpu transformer text step_parts}
for part in $parts; do
  echo "=== $part $(date +%T), ${SECONDS} s in"
  case $part in
    train)
      start=$EPOCHREALTIME
      run_part train python3 -m kiln train trainer=gpu print_config=false
      python3 -c "print('train wall seconds (process start to exit):', round($EPOCHREALTIME - $start, 1))"
      run_dir=$(ls -d $KILN_RUNS/train/*/ 2>/dev/null | tail -1)
      cp "${run_dir}metrics.json" "$OUT/train_gpu_metrics.json" 2>/dev/null
      cp "${run_dir}train.log" "$OUT/train_gpu.log" 2>/dev/null
      ;;
    tabm)  # issue 16: the tabular default (TabM) on a table on the GPU, epoch time vs the MLP
      for model in tabm mlp; do
        run_part "tabm_$model" env -u OMP_NUM_THREADS python3 scripts/bench_tables_speed.py \
          --only kiln --model $model --repeats 1 --epochs 4 --kiln-args trainer=gpu \
          | tee "$OUT/table_speed_gpu_$model.md"
      done
      ;;
    images)  # issue 17: data=images + augment=light on the GPU (cache resident, batch ops on CUDA)
      # vs the hand-written Pillow + DataLoader(num_workers=2) loop; 10,000 PNGs of 64x64
      run_part images python3 scripts/bench_images.py --device cuda --images 10000 --epochs 3 \
        --channels 32 64 --hidden 128 | tee "$OUT/bench_images_gpu.md"
      ;;
    bench)  # issue 2: kiln vs hand loops, data resident on the GPU
      run_part bench python3 scripts/bench_train.py --device cuda --steps 300 --repeats 2 | tee "$OUT/bench_train_gpu.md"
      ;;
    bench_gpu)  # issue 8: kiln vs hand-written loops (MLP, GPT ~110M + compile, digits CNN)
      run_part bench_gpu python3 scripts/bench_gpu.py --device cuda | tee "$OUT/bench_gpu.md"
      ;;
    transformer)  # issue 4: the sequence Transformer's tokens/s and MFU vs a hand GPT loop
      run_part transformer python3 scripts/bench_transformer_gpu.py --device cuda | tee "$OUT/bench_transformer_gpu.md"
      ;;
    text)  # issue 18: the text Transformer through kiln vs a hand loop on the same padded batches
      run_part text python3 scripts/bench_text.py --device cuda --parts train --steps 200 --batch 256 --repeats 2 | tee "$OUT/bench_text_gpu.md"
      ;;
    step_parts)  # where kiln's step time goes on the GPU: hand, bare Lightning, kiln
      run_part step_parts python3 scripts/bench_step_parts.py --device cuda --batch 1024 --steps 300 --repeats 2 | tee "$OUT/step_parts_gpu.md"
      ;;
    *)
      echo "unknown part $part";;
  esac
done
