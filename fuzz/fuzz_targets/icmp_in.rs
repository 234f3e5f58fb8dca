#![no_main]
//! libFuzzer entry of [`fastpath_fuzz::targets::icmp_in`].
libfuzzer_sys::fuzz_target!(|data: &[u8]| fastpath_fuzz::targets::icmp_in(data));
