//! Implements Plaza's rule world but also imports `wasi:clocks/wall-clock`: the host must
//! refuse it at upload, since plugins may import only the contract's host interface.

// The export glue wit-bindgen generates is `unsafe` (raw ABI functions).
#![allow(unsafe_code)]

#[allow(missing_docs, unsafe_code, clippy::all)]
mod bindings {
    wit_bindgen::generate!({
        path: ["../../../plugin-sdk/wit", "wit/clocks", "wit/world"],
        world: "plaza-tests:hostile-import/rule-with-clock",
        generate_all,
    });
}

use bindings::plaza::rules::types::{Descriptor, Effect, Input, Stage};

#[derive(Debug)]
struct ClockReader;

impl bindings::Guest for ClockReader {
    fn describe() -> Descriptor {
        Descriptor {
            name: "hostile-import".into(),
            version: "0.1.0".into(),
            stage: Stage::StorePromotion,
            description: "reads the wall clock".into(),
            config_schema: "{}".into(),
        }
    }

    fn validate_config(_config: String) -> Result<(), String> {
        Ok(())
    }

    fn evaluate(_input: Input) -> Result<Vec<Effect>, String> {
        let now = bindings::wasi::clocks::wall_clock::now();
        Ok(vec![Effect::Note(format!("the time is {}", now.seconds))])
    }
}

bindings::export!(ClockReader with_types_in bindings);
