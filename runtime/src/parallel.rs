//! Data-parallel training and inference over the machine's cores.
//!
//! A [`ParallelTrainer`] splits every batch of `B` samples into `B / S` shards of `S`,
//! runs the forward and backward passes of the shards on a rayon pool, one cache and one
//! gradient buffer per shard, and sums the shard gradients (each weighted by its share of
//! the batch) before the optimizer step. The result is the same batch-mean gradient as a
//! single [`Trainer`](crate::Trainer) computes, up to the order of floating-point
//! summation. Shapes stay static: a shard is a `SMatrix<T, IN, S>` view of `S` columns.

use std::boxed::Box;
use std::vec::Vec;

use nalgebra::SMatrix;
use rayon::prelude::*;

use crate::kernels::columns;
use crate::loss::Loss;
use crate::model::Model;
use crate::optim::Optimizer;
use crate::scalar::Float;
use crate::train::{BatchTrainer, TrainError};

/// Everything one shard's passes need.
struct Shard<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const S: usize> {
    cache: Box<M::Cache<S>>,
    grads: Box<M>,
    grad_out: Box<SMatrix<M::Scalar, OUT, S>>,
}

/// Trains on batches of `B`, split into shards of `S` that run in parallel.
///
/// `B` must be a multiple of `S` (checked at compile time). With `threads` workers, `S =
/// B / threads` keeps every worker busy with one shard per step.
pub struct ParallelTrainer<
    M: Model<IN, OUT>,
    const IN: usize,
    const OUT: usize,
    const B: usize,
    const S: usize,
> {
    shards: Vec<Shard<M, IN, OUT, S>>,
    output: Box<SMatrix<M::Scalar, OUT, B>>,
    pool: rayon::ThreadPool,
    steps: u64,
}

impl<M, const IN: usize, const OUT: usize, const B: usize, const S: usize> ParallelTrainer<M, IN, OUT, B, S>
where
    M: Model<IN, OUT> + Send + Sync,
    M::Cache<S>: Send,
{
    const SHARDS: usize = {
        assert!(S > 0 && B.is_multiple_of(S), "the batch size B must be a multiple of the shard size S");
        B / S
    };

    /// Buffers for every shard and a pool of `threads` workers (`0`: one per core).
    pub fn new(threads: usize) -> Result<Self, rayon::ThreadPoolBuildError> {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
        let shards = (0..Self::SHARDS)
            .map(|_| Shard {
                cache: M::zeroed_cache(),
                grads: M::zeroed_box(),
                grad_out: bytemuck::zeroed_box(),
            })
            .collect();
        Ok(ParallelTrainer { shards, output: bytemuck::zeroed_box(), pool, steps: 0 })
    }

    /// The number of worker threads.
    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }
}

impl<M, const IN: usize, const OUT: usize, const B: usize, const S: usize> BatchTrainer<M, IN, OUT, B>
    for ParallelTrainer<M, IN, OUT, B, S>
where
    M: Model<IN, OUT> + Send + Sync,
    M::Cache<S>: Send,
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
        O: Optimizer<M>,
    {
        self.steps += 1;
        let len = len.min(B);
        let shared: &M = model;
        let losses: Vec<Result<M::Scalar, TrainError>> = self.pool.install(|| {
            self.shards
                .par_iter_mut()
                .enumerate()
                .map(|(s, shard)| {
                    let start = s * S;
                    let (Some(xs), Some(ts)) =
                        (columns::<_, IN, B, S>(x, start), L::shard::<B, S>(target, start))
                    else {
                        unreachable!("shard {s} of {} lies inside the batch", Self::SHARDS)
                    };
                    let valid = len.saturating_sub(start).min(S);
                    shard.grads.fill_zero();
                    if valid == 0 {
                        return Ok(M::Scalar::ZERO);
                    }
                    let out = shared.forward_train(xs, &mut shard.cache);
                    let value = loss.loss_and_grad(out, ts, valid, &mut shard.grad_out)?;
                    // Each shard's mean, weighted by its share: the batch mean overall.
                    let weight = M::Scalar::of(valid as f64 / len as f64);
                    *shard.grad_out *= weight;
                    shared.backward_params(xs, &mut shard.cache, &shard.grad_out, &mut shard.grads);
                    Ok(value * weight)
                })
                .collect()
        });
        let mut value = M::Scalar::ZERO;
        for l in losses {
            value += l?;
        }
        for (s, shard) in self.shards.iter().enumerate() {
            let out = M::train_output(&shard.cache);
            let cols = &mut self.output.as_mut_slice()[s * S * OUT..(s + 1) * S * OUT];
            cols.copy_from_slice(out.as_slice());
        }
        if !value.finite() {
            return Err(TrainError::Diverged {
                step: self.steps,
                loss: value.as_f64(),
                tensor: model.first_non_finite(),
            });
        }
        // The optimizer sums the shard gradients chunk by chunk as it applies them.
        let (first, rest) = self.shards.split_at_mut(1);
        let partials: Vec<&M> = rest.iter().map(|s| &*s.grads).collect();
        optimizer.step_parallel(model, &mut first[0].grads, &partials, &self.pool);
        Ok(value)
    }

    fn infer(&mut self, model: &M, x: &SMatrix<M::Scalar, IN, B>) -> &SMatrix<M::Scalar, OUT, B> {
        self.pool.install(|| {
            self.shards
                .par_iter_mut()
                .zip(self.output.as_mut_slice().par_chunks_exact_mut(S * OUT))
                .enumerate()
                .for_each(|(s, (shard, out))| {
                    if let Some(xs) = columns::<_, IN, B, S>(x, s * S) {
                        out.copy_from_slice(model.forward_train(xs, &mut shard.cache).as_slice());
                    }
                })
        });
        &self.output
    }

    fn output(&self) -> &SMatrix<M::Scalar, OUT, B> {
        &self.output
    }

    fn steps(&self) -> u64 {
        self.steps
    }
}
