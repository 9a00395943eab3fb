#!/usr/bin/env bash
# The opt-in comparison runner of issue 4: trains and times the reference MNIST MLP in staticnn,
# JAX and dfdx, one configuration after another, and prints a table with the ratios.
# Not part of `cargo test` or `.ci/run`. See benches/compare/README.md.
#
#   benches/compare/run.sh                          # everything: 3 frameworks x threads {1,2} x batch {32,128}
#   benches/compare/run.sh --frameworks jax,dfdx --threads 1 --batches 128 --epochs 3
#   benches/compare/run.sh --wait-idle 120          # wait up to 120 s for a quiet machine before each run
#   benches/compare/run.sh --setup-only             # venv + builds, no timing
#   benches/compare/run.sh --table results/run-….log  # reprint the table of an earlier run
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
PEER_DIR="$HERE/dfdx_mlp"
PEER_BIN="$HERE/target/release/dfdx_mlp"

FRAMEWORKS="staticnn,jax,dfdx"
THREADS="1,2"
BATCHES="32,128"
EPOCHS=3
WARMUP=1
FWD=1
SETUP_ONLY=0
TABLE_ONLY=""
WAIT_IDLE=0     # seconds to wait, before each measurement, for the machine to be quiet
IDLE_BUSY=10    # "quiet": at most this percent of all CPUs busy over one second

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --frameworks) FRAMEWORKS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --batches) BATCHES="$2"; shift 2 ;;
    --epochs) EPOCHS="$2"; shift 2 ;;
    --no-fwd) FWD=0; shift ;;
    --wait-idle) WAIT_IDLE="$2"; shift 2 ;;
    --setup-only) SETUP_ONLY=1; shift ;;
    --table) TABLE_ONLY="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; usage 2 ;;
  esac
done

has() { case ",$FRAMEWORKS," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# The table: every RESULT line of the log, training rows then forward rows.
print_table() {
  python3 - "$1" <<'PY'
import sys, re
rows = {}
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if not line.startswith("RESULT "):
        continue
    kv = dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
    if not {"framework", "threads", "batch"} <= kv.keys():
        continue
    for old, new in (("fwd_us", "forward_us"), ("fwd_samples_per_s", "forward_samples_per_s")):
        if old in kv:
            kv.setdefault(new, kv.pop(old))
    try:
        key = (kv["framework"], int(kv["threads"]), int(kv["batch"]))
    except ValueError:
        continue
    row = rows.setdefault(key, {})
    for k, v in kv.items():  # the first value of a key wins
        row.setdefault(k, v)

def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return None

order = {"staticnn": 0}
fws = sorted({k[0] for k in rows}, key=lambda f: (order.get(f, 1), f))
train = sorted({(k[1], k[2]) for k, v in rows.items() if "epoch_s" in v})
print("\nTraining: seconds per epoch (60 000 samples), median of the timed epochs after the warm-up.")
print("ratio = framework's time / staticnn's time (how many times faster staticnn is; >1 = staticnn faster).")
print("others = share of the machine's CPU (both cores) that other processes used during that run.")
print(f"{'framework':<10} {'threads':>7} {'batch':>5} {'epoch_s':>8} {'test_acc':>8} {'ratio':>7} {'others':>6}  epochs")
for t, b in train:
    ours = num(rows.get(("staticnn", t, b), {}), "epoch_s")
    for f in fws:
        d = rows.get((f, t, b))
        if not d or "epoch_s" not in d:
            continue
        s = num(d, "epoch_s")
        ratio = f"{s / ours:7.2f}" if ours and s else f"{'-':>7}"
        acc = d.get("test_acc", "-")
        print(f"{f:<10} {t:>7} {b:>5} {s:>8.3f} {acc:>8} {ratio} {d.get('others_during', '-'):>6}  {d.get('epochs', '')}")
    print()

fwd = sorted({k[1] for k, v in rows.items() if "forward_us" in v or "forward_samples_per_s" in v})
if fwd:
    print("Forward only: batch 1 latency (µs per call, lower is better), batch 1000 throughput (samples/s).")
    print("ratios: how many times faster staticnn is (>1 = staticnn faster).")
    print(f"{'framework':<10} {'threads':>7} {'b1_us':>9} {'ratio':>7} {'b1000_per_s':>12} {'ratio':>7} {'others':>6}")
    for t in fwd:
        o1 = num(rows.get(("staticnn", t, 1), {}), "forward_us")
        ok = num(rows.get(("staticnn", t, 1000), {}), "forward_samples_per_s")
        for f in fws:
            us = num(rows.get((f, t, 1), {}), "forward_us")
            sps = num(rows.get((f, t, 1000), {}), "forward_samples_per_s")
            if us is None and sps is None:
                continue
            r1 = f"{us / o1:7.2f}" if us and o1 else f"{'-':>7}"
            rk = f"{ok / sps:7.2f}" if sps and ok else f"{'-':>7}"
            us_s = f"{us:9.2f}" if us is not None else f"{'-':>9}"
            sps_s = f"{sps:12.0f}" if sps is not None else f"{'-':>12}"
            busy = rows.get((f, t, 1000), rows.get((f, t, 1), {})).get("others_during", "-")
            print(f"{f:<10} {t:>7} {us_s} {r1} {sps_s} {rk} {busy:>6}")
        print()
PY
}

if [ -n "$TABLE_ONLY" ]; then print_table "$TABLE_ONLY"; exit 0; fi

# ---- setup: everything is installed and built before anything is timed ----
if has jax; then
  if ! "$VENV/bin/python" -c "import jax, optax" 2>/dev/null; then
    echo "== setting up $VENV (pip install -r requirements.txt: $(grep -v "^#" "$HERE/requirements.txt" | tr "\n" " "))"
    t0=$SECONDS
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q -r "$HERE/requirements.txt" \
      || { echo "run.sh: could not set up the JAX venv" >&2; exit 1; }
    echo "   venv ready in $((SECONDS - t0)) s, $(du -sh "$VENV" | cut -f1)"
  fi
fi
if has dfdx; then
  echo "== building the dfdx peer (benches/compare/dfdx_mlp → benches/compare/target)"
  (cd "$PEER_DIR" && cargo build --release --locked -q --target-dir "$HERE/target") || { echo "run.sh: dfdx peer build failed" >&2; exit 1; }
fi
STATICNN_BIN=""
if has staticnn; then
  echo "== building staticnn's examples/bench_epoch.rs (release)"
  # The binary is run directly afterwards, so no cargo (nor a rebuild) runs between measurements.
  STATICNN_BIN=$(cd "$ROOT" && cargo build --release --example bench_epoch --message-format=json-render-diagnostics \
    | python3 -c 'import sys, json
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "bench_epoch" and m.get("executable"):
        print(m["executable"])')
  if [ -z "$STATICNN_BIN" ] || [ ! -x "$STATICNN_BIN" ]; then
    STATICNN_BIN=""
    echo "run.sh: staticnn's bench_epoch example did not build; its rows will be missing" >&2
  fi
fi
[ "$SETUP_ONLY" = 1 ] && { echo "setup done"; exit 0; }

# ---- runs ----
mkdir -p "$HERE/results"
LOG="$HERE/results/run-$(date +%Y%m%d-%H%M%S).log"
NCPU=$(nproc)
{
  echo "# run.sh $(date -Is) on $(uname -n), $NCPU cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "# cpu: $(grep -m1 'vendor_id' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') model $(grep -m1 '^model[[:space:]]' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), L2 $(grep -m1 'cache size' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "# isa: $(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -E '^(sse4_2|avx|avx2|fma|f16c|avx512f|avx512bw|avx512vl|avx512_vnni|avx512_bf16|avx512_fp16|avx_vnni|amx_tile)$' | tr '\n' ' ')"
  echo "# staticnn kernels: the widest of AVX-512 / AVX2+FMA the CPU has (runtime dispatch); subnormals flushed in trainers (float_env)"
  echo "# frameworks=$FRAMEWORKS threads=$THREADS batches=$BATCHES epochs=$EPOCHS warmup=$WARMUP"
  echo "# load before: $(uptime)"
} | tee "$LOG"

cpu_ticks() {  # "busy total" jiffies of the whole machine since boot
  local u n s i w q sq st
  read -r _ u n s i w q sq st _ < /proc/stat
  echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}
cpu_busy() {  # percent of the machine's CPU time used (by anyone) over the next second
  local b1 t1 b2 t2
  read -r b1 t1 < <(cpu_ticks)
  sleep 1
  read -r b2 t2 < <(cpu_ticks)
  echo $(( 100 * (b2 - b1) / (t2 - t1 + 1) ))
}
children_cpu_cs() {  # CPU time (user + sys) of this shell's finished children, in 1/100 s
  local _u _s cu cs
  read -r _u _s; read -r cu cs   # the second line of `times`: children
  # "1m2.345s" -> centiseconds
  python3 -c 'import re,sys
t = 0.0
for v in sys.argv[1:]:
    m = re.fullmatch(r"(\d+)m([\d.]+)s", v); t += int(m[1]) * 60 + float(m[2])
print(round(t * 100))' "$cu" "$cs"
}

run() {  # run LABEL CMD... : one measurement, output into the log
  local label=$1 out rc busy waited=0 b0 t0 b1 t1 c0 c1 others
  shift
  busy=$(cpu_busy)
  # --wait-idle S: give other users' work up to S seconds to finish before measuring.
  while [ "$busy" -gt "$IDLE_BUSY" ] && [ "$waited" -lt "$WAIT_IDLE" ]; do
    sleep 4; waited=$((waited + 5)); busy=$(cpu_busy)
  done
  echo "## $label (machine ${busy}% busy just before$([ "$waited" -gt 0 ] && echo ", after waiting ${waited} s"))" | tee -a "$LOG"
  out=$(mktemp)
  # `times` must run in this shell (a pipe or $(…) would fork and see no children).
  times > "$out.t"; c0=$(children_cpu_cs < "$out.t"); read -r b0 t0 < <(cpu_ticks)
  timeout 900 "$@" > "$out" 2>&1
  rc=$?
  read -r b1 t1 < <(cpu_ticks); times > "$out.t"; c1=$(children_cpu_cs < "$out.t")
  # What everyone else used meanwhile: the machine's busy time less this measurement's own
  # CPU time, as a share of the machine (100% = both cores busy the whole run).
  others=$(( (100 * ((b1 - b0) - (c1 - c0))) / (t1 - t0 + 1) ))
  [ "$others" -lt 0 ] && others=0
  echo "## others used ${others}% of the machine during it" >> "$LOG"
  # Each RESULT line gets how busy the machine was just before and, without us, during it.
  sed "/^RESULT /s/\$/ busy_before=${busy}% others_during=${others}%/" "$out" >> "$LOG"
  if grep -q '^RESULT' "$out"; then
    grep '^RESULT' "$out"
  else
    tail -n 5 "$out" | sed 's/^/   | /'
    echo "## (no RESULT line; exit $rc)" | tee -a "$LOG"
  fi
  rm -f "$out" "$out.t"
}

IFS=, read -r -a TLIST <<< "$THREADS"
IFS=, read -r -a BLIST <<< "$BATCHES"
IFS=, read -r -a FLIST <<< "$FRAMEWORKS"
for t in "${TLIST[@]}"; do
  if [ "$t" -gt "$NCPU" ]; then echo "# skipping threads=$t: only $NCPU cpus" | tee -a "$LOG"; continue; fi
  cpus=$(seq -s, 0 $((t - 1)))          # taskset -c 0 for 1 thread, 0,1 for 2
  for b in "${BLIST[@]}"; do
    for f in "${FLIST[@]}"; do
      case "$f" in
        staticnn)
          [ -n "$STATICNN_BIN" ] || { echo "## staticnn threads=$t batch=$b: skipped (no bench_epoch example)" | tee -a "$LOG"; continue; }
          run "staticnn threads=$t batch=$b" env -C "$ROOT" RAYON_NUM_THREADS="$t" taskset -c "$cpus" \
            "$STATICNN_BIN" --batch-size "$b" --threads "$t" --epochs "$EPOCHS" ;;
        jax)
          # jax_mlp.py sets XLA_FLAGS (--xla_cpu_multi_thread_eigen=false
          # intra_op_parallelism_threads=1) itself for 1 thread; taskset pins the process.
          run "jax threads=$t batch=$b" taskset -c "$cpus" "$VENV/bin/python" "$HERE/jax_mlp.py" \
            --threads "$t" --batch-size "$b" --epochs "$EPOCHS" --warmup "$WARMUP" --no-fwd ;;
        dfdx)
          run "dfdx threads=$t batch=$b" env RAYON_NUM_THREADS="$t" taskset -c "$cpus" "$PEER_BIN" \
            --threads "$t" --batch-size "$b" --epochs "$EPOCHS" --warmup "$WARMUP" --no-fwd ;;
        *) echo "run.sh: unknown framework $f" >&2 ;;
      esac
    done
  done
  # Forward only (batch-1 latency, batch-1000 throughput): once per thread count.
  [ "$FWD" = 1 ] || continue
  for f in "${FLIST[@]}"; do
    case "$f" in
      staticnn)
        [ -n "$STATICNN_BIN" ] || continue
        run "staticnn threads=$t forward" env -C "$ROOT" RAYON_NUM_THREADS="$t" taskset -c "$cpus" \
          "$STATICNN_BIN" --forward --threads "$t" ;;
      jax)
        run "jax threads=$t forward" taskset -c "$cpus" "$VENV/bin/python" "$HERE/jax_mlp.py" \
          --threads "$t" --no-train ;;
      dfdx)
        run "dfdx threads=$t forward" env RAYON_NUM_THREADS="$t" taskset -c "$cpus" "$PEER_BIN" \
          --threads "$t" --no-train ;;
    esac
  done
done
echo "# load after: $(uptime)" | tee -a "$LOG"
print_table "$LOG" | tee -a "$LOG"
echo "raw log: $LOG"
