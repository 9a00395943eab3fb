//! The MLPerf Tiny AD network on the Cortex-M4F, with the weights of its reference
//! TensorFlow Lite file baked into flash (see `staticnn_cortex_m4::mlperf`).
#![no_std]
#![no_main]

staticnn_cortex_m4::mlperf_program!(
    "ad",
    Ad,
    AdInput,
    index = 0,
    channels = 1,
    outputs = "ad_float_outputs.f32"
);
