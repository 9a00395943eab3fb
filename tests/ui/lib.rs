//! Nothing but a home for the trybuild test `ui.rs` and its cases in `pass/` and `fail/`.
