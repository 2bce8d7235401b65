#![no_main]
//! `cargo +nightly fuzz run accrual`: see `plaza_tests::fuzz` for what the check holds.

libfuzzer_sys::fuzz_target!(|data: &[u8]| plaza_tests::fuzz::target("accrual")(data));
