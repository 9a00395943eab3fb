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

use crate::kernels::columns;
use crate::loss::Loss;
use crate::model::Model;
use crate::optim::Optimizer;
use crate::scalar::Float;
use crate::train::{BatchTrainer, TrainError};

/// Everything one shard's passes need, and what they produced.
struct Shard<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const S: usize> {
    cache: Box<M::Cache<S>>,
    grads: Box<M>,
    grad_out: Box<SMatrix<M::Scalar, OUT, S>>,
    /// This shard's share of the batch's mean loss, from the last step.
    loss: Result<M::Scalar, TrainError>,
}

impl<M: Model<IN, OUT>, const IN: usize, const OUT: usize, const S: usize> Shard<M, IN, OUT, S> {
    /// Forward and backward passes over columns `start..start + S` of a batch of `B` whose
    /// first `len` columns are samples: leaves the shard's weighted gradient in `grads`
    /// and its weighted loss in `loss`.
    fn run<L: Loss<M::Scalar, OUT>, const B: usize>(
        &mut self,
        model: &M,
        loss: &L,
        x: &SMatrix<M::Scalar, IN, B>,
        target: &L::Target<B>,
        start: usize,
        len: usize,
    ) {
        self.grads.fill_zero();
        let (Some(xs), Some(ts)) = (columns::<_, IN, B, S>(x, start), L::shard::<B, S>(target, start)) else {
            unreachable!("shards lie inside the batch: start {start} + {S} ≤ {B}")
        };
        let valid = len.saturating_sub(start).min(S);
        if valid == 0 {
            self.loss = Ok(M::Scalar::ZERO);
            return;
        }
        let out = model.forward_train(xs, &mut self.cache);
        self.loss =
            loss.loss_and_grad(out, ts, valid, &mut self.grad_out).map_err(TrainError::from).map(|value| {
                // Each shard's mean, weighted by its share: the batch mean overall.
                let weight = M::Scalar::of(valid as f64 / len as f64);
                *self.grad_out *= weight;
                model.backward_params(xs, &mut self.cache, &self.grad_out, &mut self.grads);
                value * weight
            });
    }
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
    pool: std::sync::Arc<rayon::ThreadPool>,
    steps: u64,
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
        let pool = std::sync::Arc::new(rayon::ThreadPoolBuilder::new().num_threads(threads).build()?);
        let shards = (0..Self::SHARDS)
            .map(|_| Shard {
                cache: M::zeroed_cache(),
                grads: M::zeroed_box(),
                grad_out: bytemuck::zeroed_box(),
                loss: Ok(M::Scalar::ZERO),
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
        O: Optimizer<M>,
    {
        self.steps += 1;
        let len = len.min(B);
        let shared: &M = model;
        // The calling thread runs the first shard itself while the pool runs the others:
        // no hand-off to the pool and back for work the caller can do.
        let (first, rest) = self.shards.split_at_mut(1);
        self.pool.in_place_scope(|scope| {
            for (s, shard) in rest.iter_mut().enumerate() {
                scope.spawn(move |_| shard.run(shared, loss, x, target, (s + 1) * S, len));
            }
            first[0].run(shared, loss, x, target, 0, len);
        });
        let losses = self.shards.iter().map(|shard| shard.loss);
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
        let outputs = self.output.as_mut_slice().chunks_exact_mut(S * OUT);
        let mut work = self.shards.iter_mut().zip(outputs).enumerate();
        let infer = move |(s, (shard, out)): (usize, (&mut Shard<M, IN, OUT, S>, &mut [M::Scalar]))| {
            if let Some(xs) = columns::<_, IN, B, S>(x, s * S) {
                out.copy_from_slice(model.forward_train(xs, &mut shard.cache).as_slice());
            }
        };
        if let Some(first) = work.next() {
            // As in `step`: the caller runs the first shard, the pool the others.
            self.pool.in_place_scope(|scope| {
                for rest in work {
                    scope.spawn(move |_| infer(rest));
                }
                infer(first);
            });
        }
        &self.output
    }

    fn output(&self) -> &SMatrix<M::Scalar, OUT, B> {
        &self.output
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn within<T: Send>(&mut self, work: impl FnOnce(&mut Self) -> T + Send) -> T {
        let pool = std::sync::Arc::clone(&self.pool);
        pool.install(|| work(self))
    }
}
