#!/usr/bin/env bash
# Checks the MNIST MLP deployment on the Cortex-M4 against its bars, from the programs'
# output (run ./run.sh first) and the linked sections:
#
#   code (.text of the `mnist` program)                     ≤ 8 KiB
#   RAM (.data + .bss) + stack of one inference            ≤ 4 KiB
#   executed instructions per inference, mean of 1 000     ≤ 60 000
#
# and prints each measure with its bar. Exits non-zero if one is exceeded.
set -euo pipefail
cd "$(dirname "$0")"
elf=target/thumbv7em-none-eabihf/release/mnist
profile=target/m4-mnist_profile.txt

section() { llvm-size -A "$elf" | awk -v s="$1" '$1 == s { print $2 }'; }
text=$(section .text)
ram=$(( $(section .data) + $(section .bss) ))
stack=$(sed -n 's/^stack: one classification \([0-9]*\) bytes.*/\1/p' "$profile")
instructions=$(sed -n 's/^instructions per inference: \([0-9]*\).*/\1/p' "$profile")
[ -n "$stack" ] && [ -n "$instructions" ] || { echo "no measurements in $profile" >&2; exit 1; }

failed=0
bar() { # bar NAME VALUE LIMIT
    if [ "$2" -le "$3" ]; then verdict=ok; else verdict=OVER; failed=1; fi
    printf '%-48s %8d  (bar %d) %s\n' "$1" "$2" "$3" "$verdict"
}
bar "code, .text (bytes)" "$text" 8192
bar "RAM + stack of one inference (bytes)" $((ram + stack)) 4096
bar "instructions per inference" "$instructions" 60000
exit $failed
