//! What a checked model costs, in bytes of its scalar and in multiply-accumulates: the
//! numbers behind the generated `PARAM_BYTES`, `MACS`, `ACTIVATION_BYTES` and
//! `FORWARD_STACK_BYTES` constants, and behind `#[model(budget(…))]` (see
//! [`budget`](crate::budget)).
//!
//! The activation figures follow the code [`expand`](crate::expand) generates for the
//! single-sample `forward` (`expand::single`), block by block:
//!
//! - a layer writes its output in place (`Layer::forward_one_into`) into a local of its own,
//!   and an element-wise activation after it updates that local in place, holding nothing of
//!   its own;
//! - each local is declared just outside the block that computes it and ends with the block
//!   after the next step has read it (`expand::single`), so while a layer runs only its input
//!   and its output are live in its list: the stack slides along the layers;
//! - a `residual` block copies its input into its output, which is live from the block's
//!   start, while its input stays live for the skip; its layers' locals end with it;
//! - `forward` takes no scratch (the batched path's im2col patch matrix,
//!   `Kind::scratch_tensors`, lives in the training cache), `flatten` generates no code and
//!   reuses its input, and the caller's input `x` is borrowed for the whole call.
//!
//! The bytes live while a layer runs are therefore `x`, the enclosing blocks' inputs and
//! outputs, and the layer's input and output; `ACTIVATION_BYTES` is their peak over the
//! steps. How these compare with painted-stack measurements on a Cortex-M4 is in
//! [`FORWARD_FRAME_OVERHEAD`]'s documentation.
//!
//! All arithmetic is checked: every size is bounded by the [`limits`](crate::limits), so
//! nothing overflows a 64-bit `usize`, and an overflow anywhere else is reported rather
//! than wrapped.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::ir::{Layer, Model, Op, OutputStep, Shape, output_steps};

/// The bytes of stack the generated `forward` is assumed to use beyond the activations it
/// holds: return addresses, saved registers, spilled locals and the runtime kernels' own
/// frames (the product's run of nonzero positions, its register saves). `FORWARD_STACK_BYTES`
/// and `RAM_BYTES` add it once, and a `ram` budget is checked against `RAM_BYTES`.
///
/// Calibrated on a Cortex-M4 (`examples/cortex-m4`, painted stack, rustc 1.96, `opt-level =
/// 3`): the MNIST MLP's `forward` measured 900 bytes against `FORWARD_STACK_BYTES` 936, one
/// classification 4 076 against `RAM_BYTES` 4 112; the MNIST CNN's 63 156 against 63 104
/// and 66 340 against 66 280 (`examples/cortex-m4/bars.sh` checks these stay within 10 %);
/// MLPerf Tiny's autoencoder, whose 2 560-byte output `forward` builds in a local and copies
/// out, 6 032 with the caller's output slot against 3 456 + 2 560.
pub const FORWARD_FRAME_OVERHEAD: usize = 384;

/// The model-wide figures emitted as constants on the model struct.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Costs {
    /// Bytes of all parameters: `size_of::<Model>()`.
    pub param_bytes: usize,
    /// Multiply-accumulates of one single-sample `forward`.
    pub macs: usize,
    /// The peak bytes of activations live at once during `forward`, its input included.
    pub activation_bytes: usize,
    /// An estimate of the stack `forward` itself uses, meant as an upper bound: the peak without the
    /// caller's input, plus [`FORWARD_FRAME_OVERHEAD`].
    pub forward_stack_bytes: usize,
    /// The RAM one inference needs: the input, `forward_stack_bytes` and the output it returns
    /// into; what a `ram` budget bounds.
    pub ram_bytes: usize,
}

/// One step of the single-sample `forward` (an [`OutputStep`]): a layer writing its output,
/// or a `residual` block adding its input to its layers' output.
pub struct Step<'l> {
    /// The layer running (the block, for a block's addition).
    pub layer: &'l Layer,
    /// The bytes this step's local adds to what `forward` holds: the layer's output, the
    /// block's output for an addition.
    pub own: usize,
    /// The bytes live at once: the caller's input, the enclosing blocks' locals
    /// and this step's.
    pub live: usize,
    /// Of those, the bytes on `forward`'s own stack: without the caller's input, and
    /// without the output if this step produces the model's (returned to the caller).
    pub stack: usize,
}

/// The size of one sample of `shape` in bytes of a `scalar_bytes`-byte scalar.
fn bytes(shape: Shape, scalar_bytes: usize) -> Option<usize> {
    shape.len().checked_mul(scalar_bytes)
}

/// The bytes of one output of the model: the slot `forward` returns into.
pub fn output_bytes(model: &Model) -> Option<usize> {
    model.output_width().checked_mul(model.scalar_bytes())
}

/// The bytes of a layer's own parameters (none for a layer without, or a `residual` block,
/// whose layers hold theirs).
pub fn layer_param_bytes(layer: &Layer, scalar_bytes: usize) -> Option<usize> {
    layer
        .tensors()
        .iter()
        .try_fold(0usize, |n, t| t.len().checked_mul(scalar_bytes).and_then(|b| n.checked_add(b)))
}

/// Every layer holding parameters, in declaration order (nested ones included), with the
/// bytes of its parameters.
pub fn param_bytes_by_layer<'m>(model: &'m Model) -> Option<Vec<(&'m Layer, usize)>> {
    let t = model.scalar_bytes();
    model.param_layers().into_iter().map(|l| Some((l, layer_param_bytes(l, t)?))).collect()
}

/// The multiply-accumulates of a list of layers, `residual` blocks walked into.
fn macs(layers: &[Layer]) -> Option<usize> {
    layers.iter().try_fold(0usize, |n, l| {
        let own = match &l.op {
            Op::Layer(kind) => kind.macs(l.io())?,
            Op::Residual(block) => macs(&block.main)?.checked_add(macs(&block.shortcut)?)?,
            Op::Flatten => 0,
        };
        n.checked_add(own)
    })
}

/// The steps of the single-sample `forward` over a list of layers whose enclosing scopes
/// hold `base` bytes (the caller's input `input` among them), in the order they run;
/// returns the bytes of the list's last local (its result).
fn walk<'l>(
    layers: &'l [Layer],
    base: usize,
    input: usize,
    t: usize,
    steps: &mut Vec<Step<'l>>,
) -> Option<usize> {
    // The previous step's local in this list, the current step's input (none before the
    // first step, whose input is in `base`). Activations applied in place add nothing.
    let mut previous = 0usize;
    for OutputStep { layer: l, .. } in output_steps(layers) {
        let output = bytes(l.output, t)?;
        let live = match &l.op {
            Op::Residual(block) => {
                // The block's input stays for the skip and its output is live from its
                // start; the shortcut's locals end once its result is copied into the
                // output, the layers' with the block, after the sum.
                let block_base = base.checked_add(previous)?.checked_add(output)?;
                walk(&block.shortcut, block_base, input, t, steps)?;
                let inner_last = walk(&block.main, block_base, input, t, steps)?;
                block_base.checked_add(inner_last)?
            }
            _ => base.checked_add(previous)?.checked_add(output)?,
        };
        steps.push(Step { layer: l, own: output, live, stack: live.checked_sub(input)? });
        previous = output;
    }
    Some(previous)
}

/// The steps of one single-sample `forward`, in the order they run (a block's layers before
/// its addition). The last step's output is counted in `forward`'s own stack: it is a local
/// there, which the compiler may or may not build in the caller's return slot (a painted
/// Cortex-M4 stack showed the 2 560-byte output of MLPerf Tiny's autoencoder built in a local
/// and copied out), so the estimate assumes the copy.
pub fn forward_steps<'m>(model: &'m Model) -> Option<Vec<Step<'m>>> {
    let t = model.scalar_bytes();
    let input = bytes(model.input, t)?;
    let mut steps = Vec::new();
    walk(&model.layers, input, input, t, &mut steps)?;
    Some(steps)
}

/// The model-wide figures, or `None` if one overflows a `usize` (impossible on a 64-bit
/// host within the limits).
pub fn costs(model: &Model) -> Option<Costs> {
    let param_bytes = param_bytes_by_layer(model)?.iter().try_fold(0usize, |n, (_, b)| n.checked_add(*b))?;
    let steps = forward_steps(model)?;
    let input = bytes(model.input, model.scalar_bytes())?;
    // A model is never only its input (the checker requires a layer), but be total anyway.
    let activation_bytes = steps.iter().map(|s| s.live).max().unwrap_or(input);
    let stack = steps.iter().map(|s| s.stack).max().unwrap_or(0);
    let forward_stack_bytes = stack.checked_add(FORWARD_FRAME_OVERHEAD)?;
    // The caller's input and the slot `forward` returns into, around `forward`'s own stack.
    let output = output_bytes(model)?;
    let ram_bytes = input.checked_add(forward_stack_bytes)?.checked_add(output)?;
    Some(Costs { param_bytes, macs: macs(&model.layers)?, activation_bytes, forward_stack_bytes, ram_bytes })
}

/// The figures as the model's documented associated constants.
pub fn consts(model: &Model, costs: Costs) -> TokenStream {
    let Costs { param_bytes, macs, activation_bytes, forward_stack_bytes, ram_bytes } = costs;
    let (t, scalar_bytes) = (&model.scalar, model.scalar_bytes());
    let params = grouped(model.param_count());
    let docs = [
        format!(
            " {} bytes: all {params} parameters, {scalar_bytes} bytes of `{t}` each (`size_of::<Self>()`). What a \
             baked `TRAINED` puts in read-only memory (flash); the code is not counted. A `flash` budget \
             bounds it.",
            grouped(param_bytes)
        ),
        format!(
            " {}: the multiply-accumulates of one single-sample `forward`, `N·M` per dense layer and \
             `OC·OH·OW·C·KH·KW` per convolution (padding taps included). Pools, activations, `softmax`, \
             biases and residual additions count nothing: their comparisons, additions and elementwise \
             functions are not multiply-accumulates.",
            grouped(macs)
        ),
        format!(
            " {} bytes: the peak of the activations live at once during one single-sample `forward`, its \
             input included. Each layer writes its output in place into a local that lives until the next \
             layer has read it, so while a layer runs the caller's input, the layer's input and its output \
             are live (inside a `residual` block also the block's input and output); element-wise \
             activations update their input in place and hold nothing of their own. `forward` takes no \
             scratch memory (the patch matrices of convolutions are only in the training cache). \
             `RAM_BYTES` adds the frames.",
            grouped(activation_bytes)
        ),
        format!(
            " {} bytes: an estimate of the stack `forward` itself uses in an optimised build, meant as an \
             upper bound: the peak of `ACTIVATION_BYTES` without the caller's input (the output counted \
             as a local of `forward`'s, which the compiler may build in place of the returned value or \
             copy into it), plus {FORWARD_FRAME_OVERHEAD} bytes for frames, saved registers and the \
             kernels' locals (the macro's `FORWARD_FRAME_OVERHEAD`). An unoptimised build makes more \
             copies and uses more.",
            grouped(forward_stack_bytes)
        ),
        format!(
            " {} bytes: the RAM one inference needs: its input, `FORWARD_STACK_BYTES` and the output \
             `forward` returns into. What a `ram` budget bounds; add the statics of your program \
             (`.data`, `.bss`) for the whole RAM.",
            grouped(ram_bytes)
        ),
    ];
    let [param_doc, macs_doc, activation_doc, stack_doc, ram_doc] = docs;
    let [param_bytes, macs, activation_bytes, forward_stack_bytes, ram_bytes] =
        [param_bytes, macs, activation_bytes, forward_stack_bytes, ram_bytes].map(usize_const);
    quote! {
        #[doc = #param_doc]
        pub const PARAM_BYTES: usize = #param_bytes;
        #[doc = #macs_doc]
        pub const MACS: usize = #macs;
        #[doc = #activation_doc]
        pub const ACTIVATION_BYTES: usize = #activation_bytes;
        #[doc = #stack_doc]
        pub const FORWARD_STACK_BYTES: usize = #forward_stack_bytes;
        #[doc = #ram_doc]
        pub const RAM_BYTES: usize = #ram_bytes;
    }
}

/// A `usize` constant's value: a plain literal when it fits 32 bits, else one that
/// saturates at `usize::MAX` on a target whose `usize` is narrower (a 4·10⁹-MAC model
/// built for a 32-bit target, say), instead of an overflowing literal.
fn usize_const(n: usize) -> TokenStream {
    match u32::try_from(n) {
        Ok(_) => {
            let n = Literal::usize_unsuffixed(n);
            quote!(#n)
        }
        Err(_) => {
            let n = Literal::u64_unsuffixed(n as u64);
            quote!({
                const N: u64 = #n;
                if N > usize::MAX as u64 { usize::MAX } else { N as usize }
            })
        }
    }
}

/// `407 080`: a byte count as messages and docs write it, in groups of three digits.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let groups: Vec<_> = digits.as_bytes().rchunks(3).rev().map(String::from_utf8_lossy).collect();
    groups.join(" ")
}
