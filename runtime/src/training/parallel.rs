//! Data-parallel training and inference over the machine's cores.
//!
//! A [`ParallelTrainer`] splits every batch of `B` samples into `B / S` shards of `S`,
//! with one cache and one gradient buffer per shard, and takes the same step as a
//! [`Trainer`](crate::Trainer) (the same `run_step`): the shards' forward passes run in
//! parallel, the loss and the divergence check see the whole batch, the shards' backward
//! passes run in parallel, and the optimizer's [`Update`] is split into one contiguous part
//! per thread, each of which first sums the shards' gradients over its part. The result is
//! the gradient a single trainer computes, up to the order of floating-point summation
//! (for batch normalisation, see below).
//! Shapes stay static: a shard is a `SMatrix<T, IN, S>` view of `S` columns.
//!
//! Two layers see the split. [`Dropout`](crate::Dropout) does not: a sample's mask depends on
//! its column in the whole batch, so the masks are a serial trainer's. A
//! [`BatchNorm`](crate::BatchNorm) normalises each shard with that shard's statistics, as
//! PyTorch's `DataParallel` and `DistributedDataParallel` do without `SyncBatchNorm`, so its
//! gradients are not the serial trainer's; its running statistics are pooled from all shards
//! exactly, those of the whole batch.
//!
//! Threads come from a [rayon] pool owned by the trainer; nothing else in the crate
//! knows about threads. A step called from outside the pool runs on one of its threads, so
//! that the step's three fork/joins stay among workers that wait for work by spinning
//! briefly instead of sleeping.

use std::boxed::Box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::vec::Vec;

use nalgebra::SMatrix;

use super::loss::Loss;
use super::optim::{Optimizer, Update};
use super::step::{BatchTrainer, Passes, TrainError, prepare, run_step};
use crate::float_env::{Denormals, FloatEnvGuard};
use crate::kernels::shard_columns;
use crate::model::Model;
use crate::params::TensorName;

/// One shard's buffers.
struct Shard<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const S: usize> {
    cache: Box<M::Cache<S>>,
    grads: Box<M>,
}

/// Trains on batches of `B`, split into shards of `S` that run in parallel.
///
/// `B` must be a multiple of `S` (checked at compile time). With `threads` workers,
/// `S = B / threads` keeps every worker busy with one shard per step. Name it through the
/// model, which knows its shapes: `Mnist::parallel_trainer::<32, 16>(2)`
/// ([`Model::parallel_trainer`]).
pub struct ParallelTrainer<
    M: Model<IN, OUT>,
    const IN: usize,
    const OUT: usize,
    const B: usize,
    const S: usize,
> {
    passes: Shards<M, IN, OUT, B, S>,
    grad_out: Box<SMatrix<M::Scalar, OUT, B>>,
    steps: u64,
}

/// The shards, the pool that runs them, and the batch's output gathered from them.
struct Shards<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const B: usize, const S: usize> {
    shards: Vec<Shard<M, IN, OUT, S>>,
    output: Box<SMatrix<M::Scalar, OUT, B>>,
    pool: Arc<rayon::ThreadPool>,
    /// How every thread of a step treats subnormal floats.
    denormals: Denormals,
    /// Where each parameter tensor ends in the flat parameters, and whether it is trained
    /// (filled on first use).
    tensor_ends: Vec<(usize, bool)>,
}

impl<M, const IN: usize, const OUT: usize, const B: usize, const S: usize> ParallelTrainer<M, IN, OUT, B, S>
where
    M: Model<IN, OUT>,
{
    const SHARDS: usize = {
        assert!(S > 0 && B.is_multiple_of(S), "the batch size B must be a multiple of the shard size S");
        B / S
    };

    /// Buffers for every shard and a pool of `threads` workers (`0`: one per core).
    pub fn new(threads: usize) -> Result<Self, rayon::ThreadPoolBuildError> {
        let pool = Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build()?);
        let shards =
            (0..Self::SHARDS).map(|_| Shard { cache: M::zeroed_cache(), grads: M::zeroed_box() }).collect();
        let passes = Shards {
            shards,
            output: bytemuck::zeroed_box(),
            pool,
            denormals: Denormals::Flush,
            tensor_ends: Vec::new(),
        };
        Ok(ParallelTrainer { passes, grad_out: bytemuck::zeroed_box(), steps: 0 })
    }

    /// The number of worker threads.
    pub fn threads(&self) -> usize {
        self.passes.pool.current_num_threads()
    }

    /// How steps and inference treat subnormal floats, on the calling thread and on every
    /// worker: flushed to zero by default, or exact IEEE with [`Denormals::Preserve`] (see
    /// [`float_env`](crate::float_env)).
    pub fn set_denormals(&mut self, denormals: Denormals) {
        self.passes.denormals = denormals;
    }

    /// The seed of the [`Dropout`](crate::Dropout) masks (0 unless set). A sample's mask
    /// depends on its place in the whole batch, not on its shard, so the masks are those a
    /// [`Trainer`](crate::Trainer) with the same seed draws.
    pub fn set_seed(&mut self, seed: u64) {
        for shard in &mut self.passes.shards {
            M::context(&mut shard.cache).seed = seed;
        }
    }
}

impl<M, const IN: usize, const OUT: usize, const B: usize, const S: usize> Shards<M, IN, OUT, B, S>
where
    M: Model<IN, OUT>,
{
    /// Runs `work(shard index, shard)` for every shard, the first on the calling thread
    /// (no hand-off to the pool and back for work the caller can do), the others on the pool.
    fn for_each_shard<F>(&mut self, work: F)
    where
        F: Fn(usize, &mut Shard<M, IN, OUT, S>) + Sync,
    {
        let denormals = self.denormals;
        let pool = Arc::clone(&self.pool);
        pool.install(|| {
            join_all(&mut self.shards, 0, &|s, shard| {
                let _env = FloatEnvGuard::new(denormals);
                work(s, shard)
            })
        });
    }

    /// The shards' outputs side by side, as the batch's.
    fn gather(&mut self) -> &SMatrix<M::Scalar, OUT, B> {
        let columns = self.output.as_mut_slice().chunks_exact_mut(S * OUT);
        for (out, shard) in columns.zip(&self.shards) {
            out.copy_from_slice(M::train_output(&shard.cache).as_slice());
        }
        &self.output
    }
}

/// Runs `work(first + i, &mut items[i])` for every item, splitting the slice in halves with
/// `rayon::join` (no allocation; the calling thread takes the first half, an idle worker
/// steals the second).
fn join_all<X: Send>(items: &mut [X], first: usize, work: &(impl Fn(usize, &mut X) + Sync)) {
    match items {
        [] => {}
        [one] => work(first, one),
        _ => {
            let mid = items.len() / 2;
            let (head, tail) = items.split_at_mut(mid);
            rayon::join(|| join_all(head, first, work), || join_all(tail, first + mid, work));
        }
    }
}

/// Columns `s·S..(s + 1)·S` of a batch, as a matrix of their own.
fn shard_of<T: crate::Float, const R: usize, const B: usize, const S: usize>(
    m: &SMatrix<T, R, B>,
    s: usize,
) -> &SMatrix<T, R, S> {
    match shard_columns::<T, R, B, S>(m, s * S) {
        Some(shard) => shard,
        None => unreachable!("shard {s} of {S} columns lies inside the batch of {B}"),
    }
}

impl<M, const IN: usize, const OUT: usize, const B: usize, const S: usize> Passes<M, IN, OUT, B>
    for Shards<M, IN, OUT, B, S>
where
    M: Model<IN, OUT>,
{
    fn forward(
        &mut self,
        model: &M,
        x: &SMatrix<M::Scalar, IN, B>,
        step: u64,
        len: usize,
    ) -> &SMatrix<M::Scalar, OUT, B> {
        self.for_each_shard(|s, shard| {
            prepare::<M, IN, OUT, S>(&mut shard.cache, step, s * S, len.saturating_sub(s * S));
            model.forward_train(shard_of::<_, IN, B, S>(x, s), &mut shard.cache);
        });
        self.gather()
    }

    fn backward(
        &mut self,
        model: &M,
        x: &SMatrix<M::Scalar, IN, B>,
        grad_out: &SMatrix<M::Scalar, OUT, B>,
        len: usize,
    ) {
        self.for_each_shard(|s, shard| {
            shard.grads.fill_zero();
            // A shard of padding only has a zero gradient.
            if s * S < len {
                let (xs, dys) = (shard_of::<_, IN, B, S>(x, s), shard_of::<_, OUT, B, S>(grad_out, s));
                model.backward_params(xs, &mut shard.cache, dys, &mut shard.grads);
            }
        });
    }

    fn update_statistics(&self, model: &mut M) {
        model.update_statistics(self.shards.iter().map(|shard| &*shard.cache));
    }

    fn update<O: Optimizer<M>>(&mut self, model: &mut M, optimizer: &mut O) -> Option<TensorName> {
        if self.tensor_ends.is_empty() {
            let mut end = 0;
            model.visit(&mut |t| {
                end += t.data.len();
                self.tensor_ends.push((end, t.trainable));
            });
        }
        let (first, rest) = self.shards.split_first_mut()?;
        let partials: Vec<&[M::Scalar]> = rest.iter().map(|shard| shard.grads.as_slice()).collect();
        let (params, grads) = (model.as_mut_slice(), first.grads.as_mut_slice());
        // One contiguous part per thread; the caller takes the first itself.
        let part = M::LEN.div_ceil(self.pool.current_num_threads().max(1)).max(1);
        let mut parts = Vec::new();
        let (mut update, mut offset) = (optimizer.begin_step(), 0);
        for (params, grads) in params.chunks_mut(part).zip(grads.chunks_mut(part)) {
            let (head, tail) = update.split_at(params.len());
            // Each part is taken (`Option::take`) by the thread that runs it.
            parts.push(Some(Part { offset, params, grads, update: head }));
            (update, offset) = (tail, offset + part);
        }
        let (partials, ends) = (&partials, &self.tensor_ends[..]);
        // The smallest offset of a piece with a refused update, `usize::MAX` if none.
        let refused = AtomicUsize::new(usize::MAX);
        let (refused_at, denormals) = (&refused, self.denormals);
        let run = move |part: Part<'_, M::Scalar, O::Update<'_>>| {
            let _env = FloatEnvGuard::new(denormals);
            if let Some(offset) = part.run(partials, ends) {
                refused_at.fetch_min(offset, Ordering::Relaxed);
            }
        };
        let pool = Arc::clone(&self.pool);
        pool.install(|| {
            join_all(&mut parts, 0, &|_, part: &mut Option<_>| {
                if let Some(part) = part.take() {
                    run(part)
                }
            })
        });
        let offset = refused.into_inner();
        if offset == usize::MAX {
            return None;
        }
        // Pieces never straddle tensors, so the piece's start names its tensor.
        let index = self.tensor_ends.partition_point(|&(end, _)| end <= offset);
        let mut name = None;
        let mut i = 0;
        model.visit(&mut |t| {
            if i == index {
                name = Some(t.name);
            }
            i += 1;
        });
        name
    }
}

/// One thread's part of an optimizer step: the parameters from `offset` on, their
/// gradients (the first shard's, to which the others' are added) and their update.
struct Part<'a, T, U> {
    offset: usize,
    params: &'a mut [T],
    grads: &'a mut [T],
    update: U,
}

impl<T: crate::Float, U: Update<T>> Part<'_, T, U> {
    /// Adds the other shards' gradients and applies the update, in cache-sized pieces,
    /// each while it is in L1; pieces end where tensors end (`tensor_ends`), so a refused
    /// update is located to its tensor, and pieces of untrained statistics are skipped.
    /// Returns the flat offset of the first piece whose update was refused
    /// ([`Update::apply`]), if any.
    fn run(self, partials: &[&[T]], tensor_ends: &[(usize, bool)]) -> Option<usize> {
        const PIECE: usize = 4096;
        let Part { offset, mut params, mut grads, mut update } = self;
        let mut start = offset;
        let mut refused = None;
        while !params.is_empty() {
            let (tensor_end, trainable) =
                tensor_ends.iter().find(|&&(end, _)| end > start).copied().unwrap_or((usize::MAX, true));
            let len = PIECE.min(tensor_end - start).min(params.len());
            let (piece, params_rest) = core::mem::take(&mut params).split_at_mut(len);
            let (piece_grads, grads_rest) = core::mem::take(&mut grads).split_at_mut(len);
            for partial in partials {
                for (g, &q) in piece_grads.iter_mut().zip(&partial[start..]) {
                    *g += q;
                }
            }
            let (head, tail) = update.split_at(len);
            if trainable && !head.apply(piece, piece_grads) && refused.is_none() {
                refused = Some(start);
            }
            (params, grads, update, start) = (params_rest, grads_rest, tail, start + len);
        }
        refused
    }
}

impl<M, const IN: usize, const OUT: usize, const B: usize, const S: usize> BatchTrainer<M, IN, OUT, B>
    for ParallelTrainer<M, IN, OUT, B, S>
where
    M: Model<IN, OUT>,
{
    fn step<L, O>(
        &mut self,
        model: &mut M,
        optimizer: &mut O,
        loss: &L,
        x: &SMatrix<M::Scalar, IN, B>,
        target: &L::Target<B>,
        len: usize,
    ) -> Result<M::Scalar, TrainError>
    where
        L: Loss<M::Scalar, OUT> + Sync,
        L::Target<B>: Sync,
        O: Optimizer<M> + Send,
    {
        self.steps += 1;
        let (passes, grad_out, step) = (&mut self.passes, &mut *self.grad_out, self.steps);
        let _env = FloatEnvGuard::new(passes.denormals);
        if passes.pool.current_thread_index().is_some() {
            return run_step(passes, model, optimizer, loss, x, target, len, step, grad_out);
        }
        // The step's three fork/joins are cheapest among the pool's threads, which wait for
        // work by spinning briefly: hand the whole step to the pool.
        let pool = Arc::clone(&passes.pool);
        pool.install(|| {
            let _env = FloatEnvGuard::new(passes.denormals);
            run_step(passes, model, optimizer, loss, x, target, len, step, grad_out)
        })
    }

    fn infer(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B> {
        let _env = FloatEnvGuard::new(self.passes.denormals);
        self.passes.for_each_shard(|s, shard| {
            model.forward_eval(shard_of::<_, IN, B, S>(x, s), &mut shard.cache);
        });
        self.passes.gather()
    }

    fn output(&self) -> &SMatrix<M::Scalar, OUT, B> {
        &self.passes.output
    }

    fn steps(&self) -> u64 {
        self.steps
    }
}
