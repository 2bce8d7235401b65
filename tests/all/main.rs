//! Plaza's end-to-end tests: real plugins built from `plugins/`, loaded into the real
//! sandbox, run through the real executor. One binary, a module per area.

mod composed;
mod examples;
mod hostile;
mod properties;
