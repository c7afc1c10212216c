//! The Verdict Rust SDK: write Verdict policy modules (ABI v1, `abi/SPEC.md`)
//! for `wasm32-unknown-unknown`.
//!
//! A policy is one function, exported with [`export_policy!`]:
//!
//! ```ignore
//! use verdict::{condition, export_policy, Decision, Item, Policy, Principal};
//! use serde_json::json;
//!
//! fn decide(p: &Principal, it: &Item) -> Decision {
//!     if !it.permission.is_resource() || it.permission.resource_type != "catalog-entity" {
//!         return Decision::abstain();
//!     }
//!     Decision::conditional("catalog", condition("IS_ENTITY_OWNER", "catalog-entity",
//!         json!({"claims": p.ownership_entity_refs})))
//! }
//!
//! export_policy!(Policy::new("catalog-owner", "1.0.0", &["catalog.*"], decide));
//! ```
//!
//! The crate builds offline with Debian's rustc 1.63 and packaged serde crates
//! (see README.md). It decodes the host's input with `serde_json` (unknown
//! fields ignored), encodes answers, checks them (an answer the host would
//! reject becomes DENY with the reason), and provides the ABI exports through
//! the macro. Memory is Rust's allocator (it frees); the output buffer is
//! reused from call to call.

mod criteria;
mod runner;
mod types;

#[cfg(test)]
mod tests;

pub use criteria::{all_of, any_of, condition, not, Criteria};
pub use runner::{describe, evaluate, configure};
pub use serde_json::{json, Map, Value};
pub use types::{Actor, Attributes, Decision, Effect, Item, Permission, Policy, Principal, Settings};

/// SDK_VERSION is reported by `verdict_describe` as `"rust/<SDK_VERSION>"`.
pub const SDK_VERSION: &str = "0.1.0";

/// Log levels of the host's log.
pub mod log {
    pub const DEBUG: i32 = 0;
    pub const INFO: i32 = 1;
    pub const WARN: i32 = 2;
    pub const ERROR: i32 = 3;

    #[cfg(target_arch = "wasm32")]
    #[link(wasm_import_module = "verdict:host/v1")]
    extern "C" {
        #[link_name = "log"]
        fn host_log(level: i32, ptr: *const u8, len: usize);
    }

    /// write logs msg at level in the host's log (standard error natively).
    pub fn write(level: i32, msg: &str) {
        #[cfg(target_arch = "wasm32")]
        unsafe {
            host_log(level, msg.as_ptr(), msg.len())
        }
        #[cfg(not(target_arch = "wasm32"))]
        eprintln!("verdict log {}: {}", level, msg);
    }
}

/// The bodies of the ABI exports; [`export_policy!`] calls them.
#[doc(hidden)]
pub mod abi {
    use std::alloc::{alloc, dealloc, Layout};

    /// Buffers over 256 MiB are refused (verdict_alloc returns 0).
    const MAX_ALLOC: usize = 256 << 20;

    pub fn alloc_buf(size: u32) -> *mut u8 {
        let size = (size as usize).max(1);
        if size > MAX_ALLOC {
            return std::ptr::null_mut();
        }
        unsafe { alloc(Layout::from_size_align_unchecked(size, 1)) }
    }

    pub fn free_buf(ptr: *mut u8, size: u32) {
        if ptr.is_null() {
            return;
        }
        let size = (size as usize).max(1);
        unsafe { dealloc(ptr, Layout::from_size_align_unchecked(size, 1)) }
    }

    static mut OUT: Vec<u8> = Vec::new();

    /// pack keeps out until the next call and returns ptr<<32 | len.
    pub fn pack(out: Vec<u8>) -> u64 {
        unsafe {
            OUT = out;
            ((OUT.as_ptr() as usize as u64) << 32) | OUT.len() as u64
        }
    }

    /// input is the host's buffer as a slice, valid during the call.
    ///
    /// # Safety
    /// ptr and len must describe a buffer from verdict_alloc.
    pub unsafe fn input<'a>(ptr: *const u8, len: u32) -> &'a [u8] {
        if len == 0 {
            return &[];
        }
        std::slice::from_raw_parts(ptr, len as usize)
    }
}

/// export_policy! makes a module of a [`Policy`]: it defines the ABI v1
/// exports (`verdict_abi_v1`, `verdict_alloc`, `verdict_free`,
/// `verdict_evaluate`, `verdict_describe`, `verdict_configure`). Use it once,
/// in a `cdylib` crate built for `wasm32-unknown-unknown`.
#[macro_export]
macro_rules! export_policy {
    ($policy:expr) => {
        static __VERDICT_POLICY: $crate::Policy = $policy;

        #[no_mangle]
        pub extern "C" fn verdict_abi_v1() {}

        #[no_mangle]
        pub extern "C" fn verdict_alloc(size: u32) -> *mut u8 {
            $crate::abi::alloc_buf(size)
        }

        #[no_mangle]
        pub unsafe extern "C" fn verdict_free(ptr: *mut u8, size: u32) {
            $crate::abi::free_buf(ptr, size)
        }

        #[no_mangle]
        pub unsafe extern "C" fn verdict_evaluate(ptr: *const u8, len: u32) -> u64 {
            $crate::abi::pack($crate::evaluate(&__VERDICT_POLICY, $crate::abi::input(ptr, len)))
        }

        #[no_mangle]
        pub extern "C" fn verdict_describe() -> u64 {
            match $crate::describe(&__VERDICT_POLICY) {
                Some(out) => $crate::abi::pack(out),
                None => 0,
            }
        }

        #[no_mangle]
        pub unsafe extern "C" fn verdict_configure(ptr: *const u8, len: u32) -> u64 {
            $crate::abi::pack($crate::configure(&__VERDICT_POLICY, $crate::abi::input(ptr, len)))
        }
    };
}
