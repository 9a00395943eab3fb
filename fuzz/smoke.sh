#!/usr/bin/env bash
# A bounded fuzz run of every target (or of those named as arguments), for CI: each runs
# for $FUZZ_SECONDS (default 40) on a temporary copy of its committed seed corpus, so the
# repository is never dirtied, and the script exits nonzero if any target crashes (or does
# not build). A crashing input is kept in fuzz/artifacts/TARGET/ (git-ignored); see
# README.md to reproduce and minimise it.
#
# Needs a nightly toolchain (`cargo +nightly`) for the sanitizers; installs cargo-fuzz if it
# is missing, and without nightly prints a notice and succeeds.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-40}
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz/smoke.sh: no nightly toolchain (cargo +nightly), so no fuzzing; skipped" >&2
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz/smoke.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    cp corpus/"$target"/* "$work/$target"/
    echo "fuzz/smoke.sh: $target for ${seconds}s" >&2
    dict=()
    [ -f "$target.dict" ] && dict=(-dict="$target.dict")
    if ! cargo +nightly fuzz run "$target" "$work/$target" -- "${dict[@]}" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz/smoke.sh: FAILED: ${failed[*]} (a build error is above; a crashing input is in fuzz/artifacts/TARGET/, see fuzz/README.md)" >&2
    exit 1
fi
echo "fuzz/smoke.sh: ${targets[*]}: no crash in ${seconds}s each" >&2
