//! Choosing a batch size at run time: batch shapes are static, so [`with_batch_size!`](crate::with_batch_size)
//! compiles the common sizes ([`BATCH_SIZES`]) and picks the one asked for.

use core::fmt;

/// The batch sizes [`with_batch_size!`](crate::with_batch_size) compiles.
pub const BATCH_SIZES: [usize; 6] = [8, 16, 32, 64, 128, 256];

/// A batch size [`with_batch_size!`](crate::with_batch_size) was not compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnsupportedBatchSize {
    /// The size asked for.
    pub requested: usize,
}

impl fmt::Display for UnsupportedBatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "batch size {} is not one of the sizes compiled in ({:?}); batch shapes are static, so \
             another size needs its own `const B: usize` in the code",
            self.requested, BATCH_SIZES
        )
    }
}

impl core::error::Error for UnsupportedBatchSize {}

/// Runs `$body` with `$B` bound to the batch size `$n` as a `const`, for each of the sizes
/// in [`BATCH_SIZES`]: evaluates to `Ok(body)`, or to `Err(UnsupportedBatchSize)` for any
/// other size. The body is compiled once per size, so it must have the same type for all.
///
/// ```
/// use staticnn_runtime::{UnsupportedBatchSize, with_batch_size};
///
/// fn columns(batch_size: usize) -> Result<usize, UnsupportedBatchSize> {
///     // `B` is a constant in the body: usable wherever a const generic is.
///     with_batch_size!(batch_size, B => nalgebra::SMatrix::<f32, 3, B>::zeros().ncols())
/// }
/// assert_eq!(columns(64), Ok(64));
/// assert_eq!(columns(48), Err(UnsupportedBatchSize { requested: 48 }));
/// ```
#[macro_export]
macro_rules! with_batch_size {
    ($n:expr, $B:ident => $body:expr) => {
        match $n {
            8 => ::core::result::Result::Ok({
                const $B: usize = 8;
                $body
            }),
            16 => ::core::result::Result::Ok({
                const $B: usize = 16;
                $body
            }),
            32 => ::core::result::Result::Ok({
                const $B: usize = 32;
                $body
            }),
            64 => ::core::result::Result::Ok({
                const $B: usize = 64;
                $body
            }),
            128 => ::core::result::Result::Ok({
                const $B: usize = 128;
                $body
            }),
            256 => ::core::result::Result::Ok({
                const $B: usize = 256;
                $body
            }),
            requested => ::core::result::Result::Err($crate::UnsupportedBatchSize { requested }),
        }
    };
}
