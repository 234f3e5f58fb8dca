//! fastpath's commands on DPDK's telemetry socket (`rte_telemetry_register_cmd`), next
//! to DPDK's own `/ethdev/*`: `dpdk-telemetry.py` lists and runs them. A command answers
//! a dictionary built in Rust ([`Value`]); the callback runs on DPDK's telemetry thread.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr, CString};
use std::sync::{Arc, Mutex, OnceLock};

/// A value in a telemetry answer. DPDK allows one level of nesting: a [`Value::Dict`]
/// inside the top dictionary holds only numbers and strings.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U64(u64),
    Str(String),
    Dict(Vec<(String, Value)>),
}

/// What a command answers, given its parameters (the text after the comma).
pub type Handler = Arc<dyn Fn(&str) -> Vec<(String, Value)> + Send + Sync>;

fn handlers() -> &'static Mutex<HashMap<String, Handler>> {
    static H: OnceLock<Mutex<HashMap<String, Handler>>> = OnceLock::new();
    H.get_or_init(Default::default)
}

/// Registers `cmd` (`/fastpath/...`: letters, digits, `_` and `/`). Registering a name
/// again replaces its handler.
pub fn register(cmd: &str, help: &str, h: Handler) -> Result<(), String> {
    let c = CString::new(cmd).map_err(|_| format!("telemetry command {cmd:?}: NUL"))?;
    let help = CString::new(help).map_err(|_| format!("telemetry help of {cmd}: NUL"))?;
    let mut map = handlers().lock().unwrap_or_else(|e| e.into_inner());
    if !map.contains_key(cmd) {
        // SAFETY: both strings are NUL-terminated and only read during the call (DPDK
        // copies them); `callback` has the `telemetry_cb` signature and lives forever.
        let ret = unsafe {
            dpdk_sys::rte_telemetry_register_cmd(c.as_ptr(), Some(callback), help.as_ptr())
        };
        if ret < 0 {
            return Err(format!(
                "telemetry command {cmd}: registration failed ({ret})"
            ));
        }
    }
    map.insert(cmd.to_owned(), h);
    Ok(())
}

/// DPDK's callback for every command registered here.
unsafe extern "C" fn callback(
    cmd: *const c_char,
    params: *const c_char,
    d: *mut dpdk_sys::rte_tel_data,
) -> c_int {
    // SAFETY: DPDK passes the NUL-terminated command it matched, and params either NULL
    // or NUL-terminated, both valid for the call.
    let (cmd, params) = unsafe {
        (
            CStr::from_ptr(cmd).to_string_lossy().into_owned(),
            if params.is_null() {
                String::new()
            } else {
                CStr::from_ptr(params).to_string_lossy().into_owned()
            },
        )
    };
    let h = handlers()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&cmd)
        .cloned();
    let Some(h) = h else {
        return -22; // -EINVAL: not one of ours (cannot happen: DPDK matched it)
    };
    // A panic must not unwind into DPDK's thread (it would abort the router).
    let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(&params)))
        .unwrap_or_else(|_| vec![("error".into(), Value::Str("internal error".into()))]);
    // SAFETY: `d` is the answer buffer DPDK gave this call.
    unsafe { fill(d, &answer) }
}

/// `s` as a telemetry name: DPDK refuses any character but `[A-Za-z0-9_/]`.
fn tel_name(s: &str) -> CString {
    let s: String = s
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '/' => c,
            _ => '_',
        })
        .collect();
    CString::new(s).expect("no NUL left")
}

/// Writes `dict` into `d`.
///
/// # Safety
/// `d` must be a valid `rte_tel_data`, not yet started.
unsafe fn fill(d: *mut dpdk_sys::rte_tel_data, dict: &[(String, Value)]) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { dpdk_sys::rte_tel_data_start_dict(d) };
    for (k, v) in dict {
        let name = tel_name(k);
        // SAFETY: `d` is a started dictionary; names and strings are NUL-terminated and
        // copied by DPDK; a container is handed over to `d` (with keep = 0, DPDK frees
        // it with `d`).
        unsafe {
            match v {
                Value::U64(n) => {
                    dpdk_sys::rte_tel_data_add_dict_u64(d, name.as_ptr(), *n);
                }
                Value::Str(s) => {
                    let s = CString::new(s.as_str()).unwrap_or_default();
                    dpdk_sys::rte_tel_data_add_dict_string(d, name.as_ptr(), s.as_ptr());
                }
                Value::Dict(inner) => {
                    let c = dpdk_sys::rte_tel_data_alloc();
                    if c.is_null() {
                        continue;
                    }
                    dpdk_sys::rte_tel_data_start_dict(c);
                    for (ik, iv) in inner {
                        let iname = tel_name(ik);
                        match iv {
                            Value::U64(n) => {
                                dpdk_sys::rte_tel_data_add_dict_u64(c, iname.as_ptr(), *n);
                            }
                            Value::Str(s) => {
                                let s = CString::new(s.as_str()).unwrap_or_default();
                                dpdk_sys::rte_tel_data_add_dict_string(
                                    c,
                                    iname.as_ptr(),
                                    s.as_ptr(),
                                );
                            }
                            // One level only.
                            Value::Dict(_) => {}
                        }
                    }
                    if dpdk_sys::rte_tel_data_add_dict_container(d, name.as_ptr(), c, 0) < 0 {
                        dpdk_sys::rte_tel_data_free(c);
                    }
                }
            }
        }
    }
    0
}
