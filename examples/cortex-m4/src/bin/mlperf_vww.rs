//! The MLPerf Tiny VWW network on the Cortex-M4F, with the weights of its reference
//! TensorFlow Lite file baked into flash (see `staticnn_cortex_m4::mlperf`).
#![no_std]
#![no_main]

staticnn_cortex_m4::mlperf_program!(
    "vww",
    Vww,
    VwwInput,
    index = 3,
    channels = 3,
    outputs = "vww_float_outputs.f32"
);
