//! CTAP 2.1 client engine.
#![forbid(unsafe_code)]
