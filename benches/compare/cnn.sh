#!/usr/bin/env bash
# The CNN comparison of issue 10, opt-in: the MNIST CNN of examples/mnist_cnn.rs trained by
# staticnn and by PyTorch (eager, CPU), batch 32, one warm-up epoch then the median of
# --epochs, on 1 and 2 threads, one after the other in the same run; prints a table with
# the ratios. PyTorch comes from PyPI (the CUDA build, ~5 GB, runs on the CPU) into
# benches/compare/.venv-torch unless TORCH_PYTHON names an interpreter that has it.
#
#   benches/compare/cnn.sh                 # threads 1 and 2, 2 timed epochs each
#   benches/compare/cnn.sh --threads 2 --epochs 3
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
THREADS="1,2"
EPOCHS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
PY="${TORCH_PYTHON:-$HERE/.venv-torch/bin/python}"
if ! "$PY" -c 'import torch' 2>/dev/null; then
  python3 -m venv "$HERE/.venv-torch"
  "$HERE/.venv-torch/bin/pip" install -q -r "$HERE/requirements-torch.txt"
  PY="$HERE/.venv-torch/bin/python"
fi
(cd "$ROOT" && cargo build --release --quiet --example mnist_cnn)
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | xargs) model $(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# isa: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_vnni|avx_vnni)$' | tr '\n' ' ')"
echo "| threads | staticnn epoch | PyTorch epoch | staticnn / PyTorch | staticnn test acc | PyTorch test acc |"
echo "|---:|---:|---:|---:|---:|---:|"
for t in ${THREADS//,/ }; do
  cpus=$([ "$t" = 1 ] && echo 0 || echo 0,1)
  # staticnn: one warm-up epoch, then EPOCHS timed (the example prints each epoch's seconds).
  ours=$(cd "$ROOT" && taskset -c "$cpus" target/release/examples/mnist_cnn --threads "$t" \
           --epochs $((EPOCHS + 1)) --out "$(mktemp -d)" 2>/dev/null | grep '^Epoch')
  ours_s=$(echo "$ours" | tail -n "$EPOCHS" | sed -E 's/.*\(([0-9.]+) s,.*/\1/' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
  ours_acc=$(echo "$ours" | tail -n 1 | sed -E 's/.*Test Acc: ([0-9.]+)%.*/\1/')
  theirs=$(taskset -c "$cpus" "$PY" "$HERE/torch_cnn.py" --threads "$t" --epochs "$EPOCHS" | grep '^RESULT')
  theirs_s=$(echo "$theirs" | sed -E 's/.*epoch_s=([0-9.]+).*/\1/')
  theirs_acc=$(echo "$theirs" | sed -E 's/.*test_acc=([0-9.]+).*/\1/')
  ratio=$(python3 -c "print(f'{$ours_s / $theirs_s:.2f}')")
  echo "| $t | ${ours_s} s | ${theirs_s} s | $ratio | ${ours_acc} % | $(python3 -c "print(f'{100 * $theirs_acc:.2f}')") % |"
done
