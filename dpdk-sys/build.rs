//! Probes libdpdk with pkg-config, generates raw bindings with bindgen and compiles the C
//! shim with cc, passing both the very same cflags.

use std::env;
use std::path::PathBuf;

const MIN_DPDK: &str = "22.11";

fn main() {
    for f in ["wrapper.h", "shim.h", "shim.c", "build.rs"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let lib = pkg_config::Config::new()
        .atleast_version(MIN_DPDK)
        .cargo_metadata(false)
        .probe("libdpdk")
        .unwrap_or_else(|e| {
            panic!("libdpdk >= {MIN_DPDK} not found by pkg-config ({e}); on Debian: apt-get install libdpdk-dev pkg-config")
        });

    // The exact cflags pkg-config gives (include paths, -include rte_config.h, -march=...),
    // shared by bindgen and cc so both see the same struct layouts.
    let cflags = pkg_config::get_variable("libdpdk", "cflags").ok();
    let cflags: Vec<String> = std::process::Command::new("pkg-config")
        .args(["--cflags", "libdpdk"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .or(cflags)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();

    let mut cc = cc::Build::new();
    cc.file("shim.c").include(".").opt_level(3).warnings(true);
    for f in &cflags {
        cc.flag(f);
    }
    cc.compile("dpdk_shim");

    // Link DPDK after the shim. pkg-config's libs use --as-needed; rte_bus_vdev is not in
    // its list but rte_vdev_init needs it.
    for path in &lib.link_paths {
        println!("cargo:rustc-link-search=native={}", path.display());
    }
    for l in lib.libs.iter().map(String::as_str).chain(["rte_bus_vdev"]) {
        println!("cargo:rustc-link-lib=dylib={l}");
    }

    let bindings = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_args(cflags.iter().filter(|f| !f.starts_with("-march")))
        .clang_arg("-I.")
        .allowlist_function("rte_(eal|lcore|get_main_lcore|get_next_lcore|socket_id|strerror|thread_register|thread_unregister|get_tsc_hz|delay_us_block)_?.*")
        .allowlist_function("rte_eth_.*")
        .allowlist_function("rte_dev_(probe|remove)")
        .allowlist_function("rte_vdev_(init|uninit)")
        .allowlist_function("rte_pktmbuf_(pool_create|free_bulk)")
        .allowlist_function("rte_mempool_(avail_count|in_use_count|free|lookup)")
        .allowlist_function("rte_ring_(create|create_elem|free)")
        .allowlist_function("rte_lpm_(create|free|add|delete|delete_all)")
        .allowlist_function("rte_fib_(create|free|add|delete|lookup_bulk)")
        .allowlist_function("rte_tel_data_.*")
        .allowlist_function("rte_telemetry_register_cmd")
        .allowlist_function("rte_pcapng_.*")
        .allowlist_function("rte_pdump_(init|uninit)")
        .allowlist_function("shim_.*")
        .allowlist_type("rte_(mbuf|mempool|eth_.*|ether_addr|lpm_config|fib_conf|fib_type|lcore_.*|ring)")
        .allowlist_var("RTE_(ETH_.*|MAX_ETHPORTS|MAX_LCORE|MBUF_DEFAULT_BUF_SIZE|PKTMBUF_HEADROOM|ETHER_.*|MAX_QUEUES_PER_PORT|LCORE_ID_ANY)")
        .allowlist_var("SOCKET_ID_ANY")
        .allowlist_var("RING_F_(SP_ENQ|SC_DEQ)")
        .blocklist_function("rte_eth_(rx|tx)_burst") // static inline: use shim_*
        .derive_default(true)
        .derive_debug(true)
        .layout_tests(false)
        .generate_comments(false)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen failed on wrapper.h");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bindings.rs");
    bindings.write_to_file(out).expect("writing bindings.rs");
}
