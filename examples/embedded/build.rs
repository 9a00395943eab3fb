//! Link flags for the freestanding binaries, and the test images they classify.
//!
//! - The binaries bring their own `_start` and use no C library, so they link with
//!   `-nostartfiles -nodefaultlibs -static` (and `-no-pie`: there is no loader to relocate
//!   a position-independent executable). These are `rustc-link-arg-bins`, not `rustflags`,
//!   which would also apply to this build script and break it.
//! - The first `IMAGES` MNIST test images and labels are extracted from the gzipped IDX
//!   files in `../../data/mnist/` into `OUT_DIR` (`images.u8`: 784 pixels per image,
//!   row-major; `labels.u8`: one byte each), for `include_bytes!`.
//! - For on-device training, a small digits set in the shape of the classic 8 × 8 digits:
//!   the first `DIGITS` training and test images, cropped to their central 24 × 24 pixels
//!   and averaged over 3 × 3 blocks (`digits-{train,test}.u8`: 64 pixels each, and
//!   `digits-{train,test}-labels.u8`).
//! - The int8 MNIST MLP of `tests/fixtures/int8/` as Rust items (`int8_mlp.rs`, weights in
//!   `int8_w{0,1}.i8`), read from its `.tflite` file with the library itself (a build
//!   dependency, on the host), and TFLite's outputs for the test images (`int8_outputs.i8`).

use std::error::Error;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

/// How many test images the binary holds.
const IMAGES: usize = 1000;
/// How many 8 × 8 digits of each split the training binary holds.
const DIGITS: usize = 500;
const PIXELS: usize = 28 * 28;

fn main() -> Result<(), Box<dyn Error>> {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH")?;
    let os = std::env::var("CARGO_CFG_TARGET_OS")?;
    if arch == "x86_64" && os == "linux" {
        for flag in ["-nostartfiles", "-nodefaultlibs", "-static", "-no-pie"] {
            println!("cargo:rustc-link-arg-bins={flag}");
        }
    }

    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let data = manifest.join("../../data/mnist");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let images = data.join("t10k-images-idx3-ubyte.gz");
    let labels = data.join("t10k-labels-idx1-ubyte.gz");
    let train_images = data.join("train-images-idx3-ubyte.gz");
    let train_labels = data.join("train-labels-idx1-ubyte.gz");
    for file in [&images, &labels, &train_images, &train_labels] {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rerun-if-changed=build.rs");

    let pixels = read_idx(&images, 0x0803, &[IMAGES as u32, 28, 28], IMAGES * PIXELS)?;
    let classes = read_idx(&labels, 0x0801, &[IMAGES as u32], IMAGES)?;
    std::fs::write(out.join("digits-test.u8"), downsample(&pixels[..DIGITS * PIXELS]))?;
    std::fs::write(out.join("digits-test-labels.u8"), &classes[..DIGITS])?;
    std::fs::write(out.join("images.u8"), pixels)?;
    std::fs::write(out.join("labels.u8"), classes)?;

    let pixels = read_idx(&train_images, 0x0803, &[DIGITS as u32, 28, 28], DIGITS * PIXELS)?;
    std::fs::write(out.join("digits-train.u8"), downsample(&pixels))?;
    let classes = read_idx(&train_labels, 0x0801, &[DIGITS as u32], DIGITS)?;
    std::fs::write(out.join("digits-train-labels.u8"), classes)?;
    int8_mlp(&manifest, &out)
}

/// 28 × 28 images to 8 × 8: the central 24 × 24 pixels, each 3 × 3 block averaged (rounded).
fn downsample(images: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(images.len() / PIXELS * 64);
    for image in images.chunks_exact(PIXELS) {
        for by in 0..8 {
            for bx in 0..8 {
                let mut sum = 0u32;
                for y in 0..3 {
                    for x in 0..3 {
                        sum += u32::from(image[(2 + 3 * by + y) * 28 + 2 + 3 * bx + x]);
                    }
                }
                out.push(((sum + 4) / 9) as u8);
            }
        }
    }
    out
}

/// The first `len` bytes of data of a gzipped IDX file of `u8` elements, after checking
/// its magic number (`0x08` type, rank in the low byte) and its dimensions: at least
/// `dims[0]` items, each exactly `dims[1..]`.
fn read_idx(path: &Path, magic: u32, dims: &[u32], len: usize) -> Result<Vec<u8>, Box<dyn Error>> {
    let context = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut reader = GzDecoder::new(File::open(path).map_err(context)?);
    let mut header = vec![0u8; 4 + 4 * dims.len()];
    reader.read_exact(&mut header).map_err(context)?;
    let word = |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    if word(0) != magic {
        return Err(format!("{}: magic number {:#x}, expected {magic:#x}", path.display(), word(0)).into());
    }
    for (k, &want) in dims.iter().enumerate() {
        let got = word(4 + 4 * k);
        if (k == 0 && got < want) || (k > 0 && got != want) {
            return Err(format!("{}: dimension {k} is {got}, expected {want}", path.display()).into());
        }
    }
    let mut data = vec![0u8; len];
    reader.read_exact(&mut data).map_err(context)?;
    Ok(data)
}

/// The int8 MNIST MLP of `tests/fixtures/int8/mlp_int8.tflite` (quantized by TensorFlow
/// Lite's converter) as Rust items for `src/int8.rs`: each `FULLY_CONNECTED` layer's
/// weights in the kernel's column-major order (`int8_w{k}.i8`, for `include_bytes!`), its
/// biases, per-channel multipliers (computed here with the library's own
/// `channel_multipliers`, on the host) and output range, and the input's quantization of
/// every pixel value (a table of 256). Also copies TFLite's outputs for the first test images,
/// which the binaries compare with their own.
fn int8_mlp(manifest: &Path, out: &Path) -> Result<(), Box<dyn Error>> {
    use staticnn_runtime::io::tflite::{self, Activation, Op, Options};
    use staticnn_runtime::quant::{
        FusedActivation, OutputRange, QuantParams, Requantize, channel_multipliers,
    };

    let fixtures = manifest.join("../../tests/fixtures/int8");
    let (model, outputs) = (fixtures.join("mlp_int8.tflite"), fixtures.join("mlp_int8_outputs.i8"));
    println!("cargo:rerun-if-changed={}", model.display());
    println!("cargo:rerun-if-changed={}", outputs.display());
    let graph = tflite::read(&std::fs::read(&model)?)?;
    let params = |t: &tflite::TensorInfo| -> Result<QuantParams, Box<dyn Error>> {
        let q = t.quantization.as_ref().ok_or_else(|| format!("tensor {} is not quantized", t.name))?;
        Ok(QuantParams { scale: q.scale[0], zero_point: i32::try_from(q.zero_point[0])? })
    };
    let mut src = String::from("// Generated by build.rs from tests/fixtures/int8/mlp_int8.tflite.\n");
    let layers: Vec<_> = graph.operators.iter().filter(|op| op.op == Op::FullyConnected).collect();
    if layers.len() != 2 || graph.operators.len() != 2 {
        return Err("mlp_int8.tflite: expected two FULLY_CONNECTED operators".into());
    }
    for (k, op) in layers.iter().enumerate() {
        let Options::FullyConnected { activation, .. } = op.options else { return Err("options".into()) };
        let activation = match activation {
            Activation::None => FusedActivation::None,
            Activation::Relu => FusedActivation::Relu,
            other => return Err(format!("unsupported fused activation {other:?}").into()),
        };
        let tensor = |i: usize| op.inputs.get(i).copied().flatten().map(|t| &graph.tensors[t]);
        let (input, weight, bias) = (tensor(0), tensor(1), tensor(2));
        let (Some(input), Some(weight), Some(bias)) = (input, weight, bias) else {
            return Err("inputs".into());
        };
        let output = &graph.tensors[op.outputs[0]];
        let (o, i) = (weight.shape[0], weight.shape[1]);
        let data = weight.data.as_ref().ok_or("constant weights")?;
        let column_major: Vec<u8> = (0..o * i).map(|n| data[(n % o) * i + n / o]).collect();
        std::fs::write(out.join(format!("int8_w{k}.i8")), column_major)?;
        let biases: Vec<i32> = bias
            .data
            .as_ref()
            .ok_or("constant biases")?
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let scales = &weight.quantization.as_ref().ok_or("quantized weights")?.scale;
        let mut requantize = vec![Requantize::default(); o];
        channel_multipliers(params(input)?.scale, scales, params(output)?.scale, &mut requantize);
        let range = OutputRange::new(params(output)?, activation);
        let multipliers: Vec<String> = requantize
            .iter()
            .map(|r| format!("Requantize {{ multiplier: {}, shift: {} }}", r.multiplier, r.shift))
            .collect();
        src.push_str(&format!(
            "/// Layer {k}: {i} inputs, {o} outputs.\npub const INPUTS_{k}: usize = {i};\n\
             pub const OUTPUTS_{k}: usize = {o};\n\
             static WEIGHT_{k}: [u8; {n}] = *include_bytes!(concat!(env!(\"OUT_DIR\"), \"/int8_w{k}.i8\"));\n\
             static BIAS_{k}: [i32; {o}] = {biases:?};\n\
             static REQUANTIZE_{k}: [Requantize; {o}] = [{}];\n\
             const INPUT_ZERO_POINT_{k}: i32 = {};\n\
             const RANGE_{k}: OutputRange = OutputRange {{ zero_point: {}, min: {}, max: {} }};\n",
            multipliers.join(", "),
            params(input)?.zero_point,
            range.zero_point,
            range.min,
            range.max,
            n = o * i,
        ));
    }
    let input = params(&graph.tensors[graph.inputs[0]])?;
    let pixels: Vec<i8> =
        (0..=255u8).map(|p| input.quantize(f32::from(p) / 255.0).clamp(-128, 127) as i8).collect();
    src.push_str(&format!(
        "/// Each pixel value's int8 input (`p / 255` quantized).\nstatic PIXELS: [i8; 256] = {pixels:?};\n"
    ));
    std::fs::write(out.join("int8_mlp.rs"), src)?;
    std::fs::copy(&outputs, out.join("int8_outputs.i8"))?;
    Ok(())
}
