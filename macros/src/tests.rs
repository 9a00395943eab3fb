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
    ];
    for source in odd {
        let Ok(decl) = syn::parse_str::<crate::ast::ModelDecl>(source) else { continue };
        let code = crate::generate(&decl).to_string();
        assert!(code.contains("compile_error"), "{source} should be rejected, got {code}");
    }
}
