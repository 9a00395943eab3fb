//! Fuzzes the `model!` macro's parser, checker and expansion: any text must give either
//! code or spanned errors, never a panic (an overflow, an index out of bounds, a `Ctxt`
//! dropped unfinished), and what it emits must be valid Rust items.
//!
//! A proc-macro crate cannot be linked as a library, so this crate builds the macro's
//! sources as its own library, `staticnn_macros_fuzz` (see Cargo.toml). cargo-fuzz builds
//! them with `--cfg fuzzing`, under which `macros/src/lib.rs` leaves out the `#[proc_macro]`
//! function and exposes `fuzz_spec` instead, and weight files (`#[model(weights = "…")]`)
//! are not read. The real proc macro, built for the host (the `staticnn` dependency uses
//! it), is untouched: cargo-fuzz passes its flags only to the `--target` build.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    if let Some(code) = staticnn_macros_fuzz::fuzz_spec(source) {
        // Errors are `compile_error!` items beside the model's code or its stand-in.
        if let Err(e) = syn::parse2::<syn::File>(code.clone()) {
            panic!("the expansion is not valid Rust ({e}):\n{code}");
        }
    }
    // proc-macro2 (with `span-locations`, which the macro needs) keeps every parsed text for
    // the thread's lifetime; forget them, or memory grows with every input.
    proc_macro2::extra::invalidate_current_thread_spans();
});
