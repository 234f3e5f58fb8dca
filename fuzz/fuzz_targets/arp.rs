#![no_main]
//! libFuzzer entry of [`fastpath_fuzz::targets::arp`].
libfuzzer_sys::fuzz_target!(|data: &[u8]| fastpath_fuzz::targets::arp(data));
