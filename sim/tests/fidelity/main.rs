//! Simulator fidelity: the real `ibapi` client (and the `tws-sim` binary) against the paper gateway over TCP,
//! plus world-model checks. One test binary; each module is one request family.

mod ibapi_common;
mod world_support;

mod ibapi_account;
mod ibapi_binary;
mod ibapi_connect;
mod ibapi_data;
mod ibapi_faults;
mod ibapi_hostile;
mod ibapi_misc;
mod ibapi_orders;
mod ibapi_streams;
mod world_data;
mod world_trading;
