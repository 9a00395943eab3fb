#!/usr/bin/env bash
# Builds the Cortex-M4F programs with Debian's rustc (rustup cannot add the target here; see
# README.md) and runs each under qemu's MPS2-AN386, writing its output to
# target/m4-<program>.txt. Exits non-zero if a build fails or a program reports failure.
#
#   ./run.sh                 # every program
#   ./run.sh mnist train_xor # some of them
set -euo pipefail
cd "$(dirname "$0")"

# The MLPerf Tiny programs bake the networks as the TensorFlow Lite importer declares them:
# the declarations and weights are written here, by the host toolchain, before the build.
mkdir -p target/mlperf
for network in ad:Ad:ad01_fp32 ic:Ic:pretrainedResnet kws:Kws:kws_ref_model_float32 vww:Vww:vww_96_float; do
    IFS=: read -r name struct file <<< "$network"
    (cd ../.. && cargo run --quiet --example tflite_import -- "data/mlperf-tiny/$file.tflite" --name "$struct" \
        --weights "examples/cortex-m4/target/mlperf/$name.safetensors" --bake) > "target/mlperf/$name.rs"
done

# Debian's compiler (bookworm's rustc-web: 1.96.0 on 2026-12-02) and its cargo, by full
# path: the rustup proxies come first on PATH. RUSTC_BOOTSTRAP=1 allows -Zbuild-std (see
# .cargo/config.toml); warnings in this crate and the library are errors, as clippy's are
# on the host.
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-D warnings"
cargo=/usr/bin/cargo
for tool in "$RUSTC" "$cargo" qemu-system-arm ld.lld; do
    command -v "$tool" >/dev/null || {
        echo "missing $tool: apt-get install rustc-web cargo-web rust-web-src qemu-system-arm lld" >&2
        exit 2
    }
done

programs=("$@")
[ ${#programs[@]} -gt 0 ] ||
    programs=(mnist mnist_profile mnist_cnn mnist_int8 residual_budget train_xor train_digits mlperf_ad mlperf_ic mlperf_kws mlperf_vww)

"$cargo" build --release --ignore-rust-version --bins
elf_dir=target/thumbv7em-none-eabihf/release
for program in "${programs[@]}"; do
    echo "== $program on the Cortex-M4 (qemu mps2-an386)"
    qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -icount shift=0 \
        -semihosting-config enable=on,target=native -kernel "$elf_dir/$program" \
        | tee "target/m4-$program.txt"
done
