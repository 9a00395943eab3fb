//! Expansion snapshots, as pin-project keeps them: each `tests/expand/NAME.rs` holds a
//! `model!` call, and `tests/expand/NAME.expanded.rs` what the macro turns it into,
//! pretty-printed. A change to the generated code shows up as a diff here; run with
//! `STATICNN_BLESS=1` to accept it.

use std::fs;
use std::path::Path;

/// The expansion of the `model!` call in `source`, pretty-printed.
fn expand_file(source: &str) -> String {
    let file: syn::File = syn::parse_str(source).expect("snapshot input is Rust");
    let tokens = file
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "model") => {
                Some(m.mac.tokens.clone())
            }
            _ => None,
        })
        .expect("snapshot input holds a `model!` call");
    let decl: crate::ast::ModelDecl = syn::parse2(tokens).expect("the declaration parses");
    let code = crate::generate(&decl);
    prettyplease::unparse(&syn::parse2(code).expect("the expansion is Rust"))
}

#[test]
fn expansions_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let bless = std::env::var_os("STATICNN_BLESS").is_some();
    let mut checked = 0;
    for entry in fs::read_dir(&dir).expect("tests/expand exists") {
        let path = entry.expect("readable directory").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if !name.ends_with(".rs") || name.ends_with(".expanded.rs") {
            continue;
        }
        let expanded = expand_file(&fs::read_to_string(&path).expect("readable input"));
        let snapshot = path.with_extension("expanded.rs");
        if bless {
            fs::write(&snapshot, &expanded).expect("writable snapshot");
        }
        let expected = fs::read_to_string(&snapshot).unwrap_or_default();
        assert!(
            expanded == expected,
            "the expansion of {name} differs from {}; review it and rerun with STATICNN_BLESS=1:\n{expanded}",
            snapshot.display()
        );
        checked += 1;
    }
    assert!(checked >= 3, "expected the snapshot inputs in {}", dir.display());
}

/// Odd and absurd declarations are rejected with errors, never a panic.
#[test]
fn odd_declarations_give_errors_not_panics() {
    let odd = [
        "struct A {}",
        "struct A { input(0) }",
        "struct A { input(1000000000000000000, 1000000000000000000, 3), flatten }",
        "struct A { input(4), residual { }, dense(2) }",
        "struct A { input(4), residual { residual { flatten } } }",
        "struct A { input(1, 2, 2), flatten, flatten, softmax }",
        "struct A { input(2), softmax, softmax }",
        "struct A { input(2), dense(18446744073709551615) }",
        "struct A { input(2), leaky_relu(1e999) }",
        "struct A { input(2), dense(2 -> 3 -> 4) }",
        "struct A { input(1, 4, 4), maxpool((2, 2)), avgpool(9) }",
        "#[model(scalar = i8, crate = 3, weights = 4)] struct A { input(2), dense(1) }",
        // A raw identifier as a name (the field of a nested layer was `r#type_0`).
        "struct A { input(2), r#type: residual { dense(2) }, dense(1) }",
        "struct A { input(2), r#dense, dense(1) }",
    ];
    for source in odd {
        assert!(!errors_of(source).is_empty(), "{source} should be rejected");
    }
}

/// Runs the macro on `source` (a `model!` body) and returns its output, or the panic
/// message if it panicked: absurd specs must give errors, never panics.
fn generate_str(source: &str) -> Result<String, String> {
    let decl = match crate::ast::parse(source.parse().expect("test sources are tokens")) {
        Ok(decl) => decl,
        Err(e) => return Ok(e.to_compile_error().to_string()),
    };
    std::panic::catch_unwind(|| crate::generate(&decl).to_string()).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

/// The error messages the macro emits for `source`, asserting it does not panic.
fn errors_of(source: &str) -> Vec<String> {
    let code = generate_str(source).unwrap_or_else(|panic| panic!("`{source}` panicked the macro: {panic}"));
    let tokens: proc_macro2::TokenStream = code.parse().expect("the output is tokens");
    let mut messages = Vec::new();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(tree) = tokens.next() {
        if let proc_macro2::TokenTree::Ident(ident) = &tree
            && ident == "compile_error"
        {
            // `compile_error ! { "message" }` (or with parentheses)
            tokens.next();
            if let Some(proc_macro2::TokenTree::Group(group)) = tokens.next()
                && let Ok(lit) = syn::parse2::<syn::LitStr>(group.stream())
            {
                messages.push(lit.value());
            }
        }
    }
    messages
}

/// Absurd sizes — each alone in a model — are rejected with an error, never a panic, an
/// overflow or a model rustc would run out of memory building.
#[test]
fn absurd_sizes_are_rejected_without_panicking() {
    let absurd = [
        // The reported cases: a 10¹⁸-pixel input with a large padding, and a flat input of
        // 2·10¹¹ that rustc then failed to build (21.5 GB) evaluating `ZERO`.
        "struct A { input(1, 1000000000000000000, 1), conv2d(1, 3, padding = 16777216), flatten, dense(2) }",
        "struct A { input(1, 1000000000, 1000000000), conv2d(1, 3, padding = 16777216), flatten, dense(2) }",
        "struct A { input(200000000000), dense(2) }",
        // Huge input, huge layers.
        "struct A { input(18446744073709551615), dense(2) }",
        "struct A { input(4294967296, 4294967296, 4294967296), flatten, dense(2) }",
        "struct A { input(3, 100000, 100000), flatten, dense(2) }",
        "struct A { input(2), dense(1000000000000) }",
        "struct A { input(100000), dense(100000) }",
        "struct A { input(16777216), dense(2) }",
        // Huge padding, stride, kernel.
        "struct A { input(1, 4, 4), conv2d(1, 3, padding = 16777216), flatten, dense(2) }",
        "struct A { input(1, 4000, 4000), conv2d(1, 3, padding = 16777216), flatten, dense(2) }",
        "struct A { input(1, 4, 4), conv2d(1, 3, stride = 16777217), flatten, dense(2) }",
        "struct A { input(1, 4, 4), conv2d(16777216, 1), flatten, dense(2) }",
        "struct A { input(1, 4, 4), conv2d(1, (16777216, 16777216), padding = 16777216), flatten, dense(2) }",
        "struct A { input(4096, 64, 64), conv2d(4096, 3, padding = 1), flatten, dense(2) }",
        "struct A { input(1, 16777216, 1), maxpool(16777216, stride = 1), flatten, dense(2) }",
        // Nested flattens of huge shapes, and a residual around a huge layer.
        "struct A { input(65536, 65536, 65536), residual { flatten }, flatten, dense(2) }",
        "struct A { input(8), residual { dense(100000000), dense(8) }, dense(2) }",
        // Literals that fit no integer type.
        "struct A { input(99999999999999999999999), dense(2) }",
        "struct A { input(1, 99999999999999999999999, 2), flatten, dense(2) }",
        "struct A { input(2), dense(99999999999999999999999) }",
        "struct A { input(2), dense(99999999999999999999999 -> 2) }",
        "struct A { input(1, 4, 4), conv2d(99999999999999999999999, 3), flatten, dense(2) }",
        // Too many parameters in total, each layer within bounds.
        "struct A { input(4096), dense(4096), dense(4096), dense(4096), dense(4096), dense(4096) }",
    ];
    let mut failures = Vec::new();
    for source in absurd {
        match generate_str(source) {
            Err(panic) => failures.push(format!("`{source}` panicked the macro: {panic}")),
            Ok(_) if errors_of(source).is_empty() => failures.push(format!("`{source}` was accepted")),
            Ok(_) => {}
        }
    }
    assert!(failures.is_empty(), "absurd specs not rejected cleanly:\n{}", failures.join("\n"));
}

/// Real models stay well within the limits.
#[test]
fn real_models_are_within_the_limits() {
    let fine = [
        "struct A { input(784), dense(128), relu, dense(10) }",
        "struct A { input(1, 28, 28), conv2d(32, 3, padding = 1), relu, maxpool(2), flatten, dense(10) }",
        // A MobileNet-sized classifier head: millions of parameters.
        "struct A { input(1024), dense(2048), relu, dense(1000) }",
        "struct A { input(3, 224, 224), conv2d(32, 3, stride = 2, padding = 1), relu, \
         conv2d(64, 3, stride = 2, padding = 1), relu, global_avgpool, dense(1000) }",
    ];
    for source in fine {
        let errors = errors_of(source);
        assert!(errors.is_empty(), "`{source}` should be accepted, got {errors:?}");
    }
}

/// Limit errors name the layer, its size and the limit.
#[test]
fn limit_errors_name_the_layer_its_size_and_the_limit() {
    let cases = [
        (
            "struct A { input(200000000000), dense(2) }",
            "the model's input is 200000000000 values, over the limit of 16777216 (2^24)",
        ),
        (
            "struct A { input(16777216), dense(2) }",
            "the `weight` of layer 0 (dense 16777216 → 2) is 2 × 16777216 = 33554432 values, over the limit of 16777216 (2^24)",
        ),
        (
            "struct A { input(64, 256, 256), conv2d(64, 3, padding = 1), flatten, dense(2) }",
            "the patch matrix (C·KH·KW × OH·OW) of layer 0 (conv2d 64×256×256 → 64×256×256 (3×3, stride 1, padding 1)) \
             is 64 × 3 × 3 × 256 × 256 = 37748736 values",
        ),
        (
            "struct A { input(1, 4000, 4000), conv2d(1, 3, padding = 16777216), flatten, dense(2) }",
            "the output of layer 0 (conv2d 1×4000×4000 → 1×33558430×33558430 (3×3, stride 1, padding 16777216)) \
             is 1 × 33558430 × 33558430 = 1126168224064900 values",
        ),
        (
            "struct A { input(1, 4294967296, 4294967296), flatten, dense(2) }",
            "the model's input is 1 × 4294967296 × 4294967296 values (more than a `usize` can count)",
        ),
        (
            "struct A { input(4096), dense(4096), dense(4096), dense(4096), dense(4096), dense(4096) }",
            "with the 16781312 parameters of layer 3 (dense 4096 → 4096), the model holds 67125248, \
             over the limit of 67108864 (2^26) parameters",
        ),
        ("struct A { input(99999999999999999999999), dense(2) }", "this width does not fit in a `usize`"),
    ];
    for (source, expected) in cases {
        let errors = errors_of(source);
        assert!(
            errors.len() == 1 && errors[0].starts_with(expected),
            "`{source}` should be rejected once with `{expected}…`, got {errors:?}"
        );
    }
}

/// Brackets nested thousands deep are an error, not a stack overflow in syn; residual
/// blocks nested as deep as the limit allows are checked quickly.
#[test]
fn deep_nesting_is_rejected_without_overflowing_the_stack() {
    let parens = format!("struct A {{ input({}{}), dense(2) }}", "(".repeat(20_000), ")".repeat(20_000));
    let errors = errors_of(&parens);
    assert!(
        errors.len() == 1 && errors[0].starts_with("brackets nested more than 32 deep"),
        "got {errors:?}"
    );
    let deep = |n: usize| {
        format!("struct A {{ input(2), {} dense(2) {} }}", "residual { ".repeat(n), " }".repeat(n))
    };
    assert!(errors_of(&deep(31))[0].starts_with("brackets nested more than 32 deep"));
    assert!(errors_of(&deep(30)).is_empty(), "{:?}", errors_of(&deep(30)));
}

/// A weight file is read no further than a header and the model's parameters can take, so
/// a wrong path cannot exhaust the compiler's memory (or, for `/dev/zero`, never finish).
#[cfg(unix)]
#[test]
fn endless_weight_files_are_rejected() {
    let errors = errors_of("#[model(weights = \"/dev/zero\")] struct A { input(2), dense(1) }");
    assert!(
        errors.len() == 1 && errors[0].starts_with("weight file `/dev/zero` is larger than 100000032 bytes"),
        "got {errors:?}"
    );
}

/// The memory and compute figures of the model declared by `source` (a `model!` body).
fn costs_of(source: &str) -> crate::cost::Costs {
    let decl =
        crate::ast::parse(source.parse().expect("test sources are tokens")).expect("the declaration parses");
    let crate::infer::Checked { model, errors } = crate::infer::check(&decl);
    let errors = errors.finish().map(|e| e.to_string());
    assert!(errors.is_none(), "`{source}` should be accepted, got {errors:?}");
    crate::cost::costs(&model.expect("a consistent model")).expect("no overflow")
}

/// `PARAM_BYTES`, `MACS`, `ACTIVATION_BYTES`, `FORWARD_STACK_BYTES` and `RAM_BYTES`,
/// worked out by hand. A layer's output is live from its step until the next step has read
/// it (inside a `residual` block, the block's input and output stay live throughout), and
/// element-wise activations update the output before them in place (see `cost`).
#[test]
fn cost_formulas_on_known_models() {
    use crate::cost::{Costs, FORWARD_FRAME_OVERHEAD as F};
    // `RAM_BYTES`: the input and `forward`'s stack (which holds the output as a local), and
    // the caller's slot for the output.
    let costs =
        |param_bytes, macs, activation_bytes: usize, stack: usize, input: usize, output: usize| Costs {
            param_bytes,
            macs,
            activation_bytes,
            forward_stack_bytes: stack + F,
            ram_bytes: input + stack + F + output,
        };
    // 784·128 + 128 + 128·10 + 10 = 101 770 `f32`s; 784·128 + 128·10 multiply-adds. At the
    // end the input (3 136 bytes), the hidden vector (512, `relu` applied in place) and the
    // logits (40) are live; `forward`'s own stack holds the hidden vector and the logits.
    let mnist = costs_of("struct A { input(784), dense(128), relu, dense(10) }");
    assert_eq!(mnist, costs(407_080, 101_632, 3_136 + 512 + 40, 512 + 40, 3_136, 40));

    // Parameters: 16·9 + 16, 32·16·9 + 32, 1 568·128 + 128, 128·10 + 10 = 206 922.
    // MACs: 16·28·28 · 1·9, 32·14·14 · 16·9, 1 568·128, 128·10.
    // Activations: the input, and the peak at the first pooling, which reads the 16×28×28
    // output of the first convolution (`relu` in place) and writes 16×14×14 `f32`s.
    let cnn = costs_of(
        "struct A { input(1, 28, 28), conv2d(16, 3, padding = 1), relu, maxpool(2), \
         conv2d(32, 3, padding = 1), relu, maxpool(2), flatten, dense(128), relu, dense(10) }",
    );
    let peak = 4 * (12_544 + 3_136);
    assert_eq!(cnn, costs(206_922 * 4, 112_896 + 903_168 + 200_704 + 1_280, 3_136 + peak, peak, 3_136, 40));

    // Inside the block: the input (16), the first `dense` output (32), the block's output
    // slot (32, a copy of its input, live from the block's start), then its `dense` output
    // (32, `relu` in place); they end with the block, before the last `dense`.
    let residual = costs_of("struct A { input(4), dense(8), residual { dense(8), relu }, dense(2) }");
    assert_eq!(residual, costs((40 + 72 + 18) * 4, 32 + 64 + 16, 16 + 3 * 32, 3 * 32, 16, 8));

    // `f64`, a block reading the caller's input (256 bytes) and producing the model's output:
    // its output slot and the convolution's output, 256 each.
    let last = costs_of(
        "#[model(scalar = f64)] struct A { input(2, 4, 4), residual { conv2d(2, 3, padding = 1), relu } }",
    );
    assert_eq!(last, costs((2 * 2 * 9 + 2) * 8, 32 * 2 * 9, 3 * 256, 2 * 256, 256, 256));
}

/// Budgets are reported once, on the layer that crosses them, naming the total, the
/// budget and the largest layers.
#[test]
fn budget_errors_land_on_the_crossing_layer() {
    let mlp = |budget: &str| {
        format!("#[model(budget({budget}))] struct A {{ input(784), dense(128), relu, dense(10) }}")
    };
    assert!(errors_of(&mlp("flash = \"400K\", ram = \"16K\"")).is_empty());
    assert_eq!(
        errors_of(&mlp("flash = \"128K\"")),
        ["model `A` needs 407 080 bytes of `f32` parameters (`A::PARAM_BYTES`; code is extra), over its \
             flash budget of 131 072 bytes (128 KiB); the parameters up to this layer take 401 920; the largest: \
             layer 0 (dense 784 → 128) with 401 920, layer 2 (dense 128 → 10) with 5 160"]
    );
    // 401 920 bytes fit, the last layer's 5 160 do not.
    let errors = errors_of(&mlp("flash = 405000"));
    assert!(errors.len() == 1 && errors[0].contains("up to this layer take 407 080"), "{errors:?}");
    assert!(errors_of(&mlp("ram = 4112")).is_empty());
    let errors = errors_of(&mlp("ram = \"3K\""));
    assert!(
        errors.len() == 1 && errors[0].starts_with("model `A` needs 4 112 bytes of RAM for one inference"),
        "{errors:?}"
    );
    for bad in ["", "flash = \"\"", "flash = \"12X\"", "flash = -3", "ram = 0", "rom = \"1K\"", "flash = x"] {
        assert_eq!(errors_of(&mlp(bad)).len(), 1, "{bad}");
    }
}

/// A count beyond 32 bits is emitted so that it saturates on a 32-bit target instead of
/// being an overflowing literal there.
#[test]
fn counts_beyond_32_bits_saturate_on_narrow_targets() {
    // Two 16 → 256 convolutions on 256 × 256 images, 2 · 256·65 536 · 16·9, a 1×1 one back to
    // 16 channels, 16·65 536 · 256, and a 256 → 2 dense layer: 5 100 274 176 MACs.
    let source = "struct A { input(16, 256, 256), conv2d(256, 3, padding = 1), conv2d(16, 1), \
                  conv2d(256, 3, padding = 1), global_avgpool, dense(2) }";
    assert!(errors_of(source).is_empty(), "{:?}", errors_of(source));
    let code = generate_str(source).expect("no panic");
    let macs = code.split("MACS").nth(1).expect("a MACS constant");
    assert!(macs.trim_start().starts_with(": usize = { const N : u64 = 5100274176 ;"), "{macs:.120}");
    assert!(macs.contains("usize :: MAX"), "{macs:.200}");
}
