#!/usr/bin/env bash
# One prepared call on a CUDA machine: install kiln, prove the GPU path, time it.
# Results go to $OUT (the device tool brings them back). Usage there:
#   bash scripts/gpu_check.sh [parts...]   parts: train bench bench_gpu transformer (default: all, ~6 min)
set -uo pipefail
OUT=${OUT:-/tmp/kiln-gpu-out}
mkdir -p "$OUT"
LOG="$OUT/gpu_check.log"
exec > >(tee -a "$LOG") 2>&1
export PYTHONUNBUFFERED=1 KILN_RUNS=/tmp/kiln-runs
if [ -d .whl ]; then  # hydra-core, omegaconf, antlr4 are not installed on the GPU image
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
python3 -m pip install -q --no-deps --no-build-isolation -e . || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python3 -c "import torch, lightning, kiln; print('torch', torch.__version__, 'lightning', lightning.__version__, 'cuda', torch.cuda.is_available())"
parts=${*:-train bench bench_gpu transformer}
for part in $parts; do
  echo "=== $part $(date +%T)"
  case $part in
    train)
      start=$EPOCHREALTIME
      python3 -m kiln train trainer=gpu print_config=false || echo "FAILED: train"
      python3 -c "print('train wall seconds (process start to exit):', round($EPOCHREALTIME - $start, 1))"
      cp "$(ls -d $KILN_RUNS/train/*/ | tail -1)metrics.json" "$OUT/train_gpu_metrics.json"
      ;;
    bench)
      python3 scripts/bench_train.py --device cuda --steps 300 --repeats 2 | tee "$OUT/bench_train_gpu.md" || echo "FAILED: bench"
      ;;
    bench_gpu)  # issue 8: kiln vs hand-written loops (MLP, GPT ~110M + compile, digits CNN), ~3 min
      python3 scripts/bench_gpu.py --device cuda | tee "$OUT/bench_gpu.md" || echo "FAILED: bench_gpu"
      ;;
    transformer)  # issue 4: the sequence Transformer's tokens/s and MFU vs a hand GPT loop, ~1.5 min
      python3 scripts/bench_transformer_gpu.py --device cuda | tee "$OUT/bench_transformer_gpu.md" || echo "FAILED: transformer"
      ;;
    *)
      echo "unknown part $part";;
  esac
done
echo "=== done $(date +%T)"
