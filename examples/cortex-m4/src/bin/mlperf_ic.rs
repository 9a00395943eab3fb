//! The MLPerf Tiny IC network on the Cortex-M4F, with the weights of its reference
//! TensorFlow Lite file baked into flash (see `staticnn_cortex_m4::mlperf`).
#![no_std]
#![no_main]

staticnn_cortex_m4::mlperf_program!(
    "ic",
    Ic,
    IcInput,
    index = 1,
    channels = 3,
    outputs = "ic_float_outputs.f32"
);
