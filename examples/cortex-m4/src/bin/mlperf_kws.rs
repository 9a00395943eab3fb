//! The MLPerf Tiny KWS network on the Cortex-M4F, with the weights of its reference
//! TensorFlow Lite file baked into flash (see `staticnn_cortex_m4::mlperf`).
#![no_std]
#![no_main]

staticnn_cortex_m4::mlperf_program!(
    "kws",
    Kws,
    KwsInput,
    index = 2,
    channels = 1,
    outputs = "kws_dequant_float_outputs.f32"
);
