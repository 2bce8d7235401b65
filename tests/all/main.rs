//! Plaza's end-to-end tests: real plugins built from `plugins/`, loaded into the real
//! sandbox, run through the real executor, and the real server over HTTP on its sled
//! store. One binary, a module per area.

mod composed;
mod examples;
mod hostile;
mod money_paths;
mod properties;
mod service_compile;
mod service_concurrency;
mod service_contract;
mod service_durability;
mod service_hardening;
mod service_input;
mod service_isolation;
mod service_lifecycle;
mod service_lists;
mod service_orders;
mod snapshot;
