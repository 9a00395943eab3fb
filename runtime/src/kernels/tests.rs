//! The kernels against nalgebra's own products, at every tile edge, in `f64` and `f32`
//! (and the AVX2 kernel directly, where the CPU has it).

use super::*;

/// Runs the AVX2 kernel directly (so it is covered on AVX-512 machines too); the caller
/// checks that the CPU has AVX2 and FMA.
#[cfg(all(feature = "std", target_arch = "x86_64"))]
fn avx2_gemm(dims: GemmDims, a: &[f32], b: &[f32], strides: (usize, usize), c: &mut [f32]) {
    assert!(a.len() >= dims.m * dims.k && c.len() >= dims.m * dims.n);
    // SAFETY: the CPU has AVX2 and FMA (checked by the caller); the slices hold the operands.
    unsafe { x86::gemm_avx2(dims, a.as_ptr(), b.as_ptr(), strides, c.as_mut_ptr()) }
}

fn filled<const R: usize, const C: usize>(seed: f64) -> SMatrix<f64, R, C> {
    // Every third entry zero, to exercise the zero-skipping paths.
    SMatrix::from_fn(
        |i, j| {
            if (i + 2 * j) % 3 == 0 { 0.0 } else { ((i * 7 + j * 13) as f64 * 0.37 + seed).sin() }
        },
    )
}

fn check_products<const M: usize, const K: usize, const N: usize>() {
    let a = filled::<M, K>(0.1);
    let b = filled::<K, N>(0.7);
    let mut c = SMatrix::<f64, M, N>::zeros();
    matmul(&a, &b, &mut c, false);
    assert!((c - a * b).abs().max() < 1e-12);
    matmul(&a, &b, &mut c, true);
    assert!((c - 2.0 * a * b).abs().max() < 1e-12);

    let d = filled::<N, K>(0.3);
    let mut e = SMatrix::<f64, M, N>::from_element(1.0);
    matmul_add_nt(&a, &d, &mut e);
    assert!((e - (a * d.transpose()).add_scalar(1.0)).abs().max() < 1e-12);

    let f = filled::<K, M>(0.9);
    let mut g = SMatrix::<f64, M, N>::zeros();
    matmul_tn(&f, &b, &mut g);
    assert!((g - f.transpose() * b).abs().max() < 1e-12);

    // The same products in f32 take the SIMD kernels where the CPU has them.
    let (a32, b32, d32) = (a.cast::<f32>(), b.cast::<f32>(), d.cast::<f32>());
    let mut c32 = SMatrix::<f32, M, N>::from_element(0.5);
    matmul(&a32, &b32, &mut c32, true);
    let want = (a * b).add_scalar(0.5);
    assert!((c32.cast::<f64>() - want).abs().max() < 1e-4 * (K as f64), "nn {M}x{K}x{N}");
    let mut g32 = SMatrix::<f32, M, N>::from_element(7.0);
    matmul_tn(&f.cast::<f32>(), &b32, &mut g32);
    assert!((g32.cast::<f64>() - f.transpose() * b).abs().max() < 1e-4 * (K as f64), "tn {M}x{K}x{N}");
    let mut e32 = SMatrix::<f32, M, N>::zeros();
    matmul_add_nt(&a32, &d32, &mut e32);
    assert!((e32.cast::<f64>() - a * d.transpose()).abs().max() < 1e-4 * (K as f64), "nt {M}x{K}x{N}");

    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        let mut c = SMatrix::<f32, M, N>::from_element(0.5);
        avx2_gemm(GemmDims::new(M, K, N), a32.as_slice(), b32.as_slice(), (1, K), c.as_mut_slice());
        assert!((c.cast::<f64>() - want).abs().max() < 1e-4 * (K as f64), "avx2 nn {M}x{K}x{N}");
        let mut e = SMatrix::<f32, M, N>::zeros();
        avx2_gemm(GemmDims::new(M, K, N), a32.as_slice(), d32.as_slice(), (N, 1), e.as_mut_slice());
        assert!((e.cast::<f64>() - a * d.transpose()).abs().max() < 1e-4 * (K as f64), "avx2 nt {M}x{K}x{N}");
    }
}

#[cfg(feature = "std")]
#[test]
fn long_inner_dimensions_span_several_pieces() {
    // 2100 = 1024 + 1024 + 52 rows of B; a debug build keeps every temporary of the
    // reference products on the stack, so this runs on a larger one.
    let worker = std::thread::Builder::new().stack_size(64 << 20).spawn(check_products::<3, 2100, 5>);
    worker.expect("spawn").join().expect("products agree");
}

#[test]
fn products_match_nalgebra_at_every_tile_edge() {
    check_products::<5, 19, 3>();
    check_products::<1, 1, 1>();
    check_products::<16, 7, 4>();
    check_products::<17, 3, 5>();
    check_products::<64, 9, 8>();
    check_products::<70, 33, 9>();
    check_products::<128, 20, 1>();
    check_products::<10, 128, 6>();
    check_products::<83, 2, 13>();
}

/// The portable product sums each element in the order of the plain rank-1 loop, whatever
/// the blocking: the same bits, for every block width and a list longer than one run.
#[test]
fn portable_blocking_keeps_the_rank_one_order() {
    fn check<const M: usize, const K: usize, const N: usize>() {
        let a = filled::<M, K>(0.4).map(|v| v as f32);
        let b = filled::<K, N>(0.2).map(|v| v as f32);
        let mut blocked = SMatrix::<f32, M, N>::from_element(0.25);
        let dims = GemmDims::new(M, K, N);
        portable::gemm_portable(dims, a.as_slice(), b.as_slice(), (1, K), blocked.as_mut_slice());
        let mut plain = SMatrix::<f32, M, N>::from_element(0.25);
        for j in 0..N {
            for p in 0..K {
                if b[(p, j)] != 0.0 {
                    for i in 0..M {
                        plain[(i, j)] += b[(p, j)] * a[(i, p)];
                    }
                }
            }
        }
        let same_bits = |x: &SMatrix<f32, M, N>, y: &SMatrix<f32, M, N>| {
            x.iter().zip(y.iter()).all(|(x, y)| x.to_bits() == y.to_bits())
        };
        assert!(same_bits(&blocked, &plain), "{M}x{K}x{N}");
        // B transposed (strided multipliers) gives the same bits too.
        let bt = b.transpose();
        let mut strided = SMatrix::<f32, M, N>::from_element(0.25);
        portable::gemm_portable(dims, a.as_slice(), bt.as_slice(), (N, 1), strided.as_mut_slice());
        assert!(same_bits(&strided, &plain), "{M}x{K}x{N} strided");
    }
    check::<31, 70, 3>();
    check::<128, 100, 1>();
    check::<10, 33, 2>();
    check::<1, 5, 4>();
}
