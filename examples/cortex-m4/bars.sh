#!/usr/bin/env bash
# Checks the Cortex-M4 measurements (run ./run.sh first) against the bars of the MNIST MLP
# deployment and the models' compile-time constants against what is measured:
#
#   code (.text of the `mnist` program)                          ≤ 8 KiB
#   RAM (.data + .bss) + stack of one inference                  ≤ 4 KiB
#   executed instructions per inference, mean of 1 000 images    ≤ 60 000
#   PARAM_BYTES                    = the size of the model's symbol in the linked program
#   FORWARD_STACK_BYTES, RAM_BYTES within 10 % of the painted stack of `forward` and of one
#                                    classification (input conversion included)
#
# for the MLP, the CNN and a residual CNN. Prints each measure next to its bar; exits
# non-zero if one fails.
set -euo pipefail
cd "$(dirname "$0")"
elf_dir=target/thumbv7em-none-eabihf/release
failed=0

field() { # field FILE PATTERN: the first number after PATTERN in FILE
    sed -n "s/.*$2 \([0-9]*\).*/\1/p" "$1" | head -1
}
check() { # check NAME VALUE OK(0/1) BAR-TEXT
    local verdict=ok
    [ "$3" -eq 1 ] || { verdict=FAILED; failed=1; }
    printf '%-58s %10s  %-28s %s\n' "$1" "$2" "$4" "$verdict"
}
within10() { # within10 CONSTANT MEASURED: 1 if |c − m| ≤ 10 % of m
    local d=$(($1 - $2))
    [ $((d < 0 ? -d : d)) -le $(($2 / 10)) ] && echo 1 || echo 0
}
section() { llvm-size -A "$1" | awk -v s="$2" '$1 == s { print $2 }'; }
symbol_size() { echo $((16#$(llvm-nm -S "$1" | awk -v s="$2" '$4 ~ s { print $2; exit }'))); }

# The MLP: code and RAM of the deployment program, instructions and stack from the profile.
text=$(section "$elf_dir/mnist" .text)
ram=$(( $(section "$elf_dir/mnist" .data) + $(section "$elf_dir/mnist" .bss) ))
profile=target/m4-mnist_profile.txt
classify=$(field "$profile" "classification stack")
forward=$(field "$profile" "forward stack")
instructions=$(field "$profile" "instructions per inference:")
check "MLP code, .text of \`mnist\` (bytes)" "$text" $((text <= 8192)) "bar ≤ 8 192"
check "MLP RAM + stack of one inference (bytes)" $((ram + classify)) $((ram + classify <= 4096)) "bar ≤ 4 096"
check "MLP instructions per inference (mean of 1 000)" "$instructions" $((instructions <= 60000)) "bar ≤ 60 000"

# program : crate of the model's static : the static : the model
for model in mnist_profile:staticnn_embedded:MODEL:Mnist mnist_cnn:staticnn_embedded:CNN:MnistCnn \
    residual_budget:residual_budget:MODEL:Res; do
    IFS=: read -r program crate symbol name <<< "$model"
    out=target/m4-$program.txt
    params=$(field "$out" "PARAM_BYTES")
    linked=$(symbol_size "$elf_dir/$program" "${crate}[0-9]*${symbol}E?$")
    stack_const=$(field "$out" "FORWARD_STACK_BYTES")
    ram_const=$(field "$out" "RAM_BYTES")
    forward=$(field "$out" "forward stack")
    classify=$(field "$out" "classification stack")
    check "$name::PARAM_BYTES vs the linked \`$symbol\` ($linked B)" "$params" $((params == linked)) "equal"
    check "$name::FORWARD_STACK_BYTES vs painted forward ($forward B)" "$stack_const" "$(within10 "$stack_const" "$forward")" "within 10 %"
    check "$name::RAM_BYTES vs painted classification ($classify B)" "$ram_const" "$(within10 "$ram_const" "$classify")" "within 10 %"
done
exit $failed
