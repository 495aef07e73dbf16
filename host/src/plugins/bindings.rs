//! Host-side bindings of the WIT package `ibkr:plugin` (see `wit/`).

wasmtime::component::bindgen!({
    world: "trading-plugin",
    path: "../wit",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use exports::ibkr::plugin::prompts;
pub use exports::ibkr::plugin::workflows;
pub use ibkr::plugin::types;

/// The WIT package this host implements.
pub const PACKAGE: &str = "ibkr:plugin";
/// The WIT package version this host implements.
pub const VERSION: (u64, u64, u64) = (0, 1, 1);
/// `VERSION` as text.
pub const VERSION_STR: &str = "0.1.1";
