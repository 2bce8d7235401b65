//! The floor: each step's plugin run by bare wasmtime, on the same engine configuration
//! (fuel, epoch, pooling allocator), with a fresh instance per call and no host work: no
//! limiter, no log, the answer left unread. What Plaza adds per step is `step/wasm/*`
//! minus `floor/*`; the ratio between them survives a noisy machine. `floor/instantiate`
//! is the fresh instance alone (store, instantiate, drop), the rest of `floor/*` is the
//! two copies in and the call.

use super::{LINES, configs, encode_step_for};
use criterion::Criterion;
use plaza::sandbox::{Limits, engine_config};
use plaza_tests::{component, sample_cart};
use std::hint::black_box;
use wasmtime::{Engine, InstancePre, Linker, Module, Store};

struct Floor {
    engine: Engine,
    pre: InstancePre<()>,
}

impl Floor {
    fn new(engine: &Engine, name: &str) -> Self {
        let module = Module::new(engine, component(name)).expect("compiles");
        let pre = Linker::new(engine)
            .instantiate_pre(&module)
            .expect("no imports");
        Floor {
            engine: engine.clone(),
            pre,
        }
    }

    fn store(&self) -> Store<()> {
        let mut store = Store::new(&self.engine, ());
        store.set_fuel(Limits::default().fuel).expect("fuel");
        store.set_epoch_deadline(1 << 40);
        store
    }

    /// Instantiate, copy the cart and the step in, evaluate, drop.
    fn evaluate(&self, cart: &[u8], step: &[u8]) -> i64 {
        let mut store = self.store();
        let instance = self.pre.instantiate(&mut store).expect("instantiates");
        let memory = instance.get_memory(&mut store, "memory").expect("memory");
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "plaza_alloc")
            .expect("alloc");
        let evaluate = instance
            .get_typed_func::<(i32, i32, i32, i32), i64>(&mut store, "plaza_evaluate")
            .expect("evaluate");
        let mut write = |bytes: &[u8]| {
            let len = bytes.len() as i32;
            let at = alloc.call(&mut store, len).expect("alloc");
            memory
                .write(&mut store, at as usize, bytes)
                .expect("inside memory");
            (at, len)
        };
        let (c, c_len) = write(cart);
        let (s, s_len) = write(step);
        evaluate
            .call(&mut store, (c, c_len, s, s_len))
            .expect("evaluates")
    }
}

pub fn bench(c: &mut Criterion) {
    let engine = Engine::new(&engine_config(&Limits::default(), true)).expect("engine");
    let cart = sample_cart(LINES).encode();
    for (name, config) in &configs() {
        let floor = Floor::new(&engine, name);
        let step = encode_step_for(config);
        if *name == "threshold-discount" {
            c.bench_function("floor/instantiate", |b| {
                b.iter(|| {
                    let mut store = floor.store();
                    black_box(floor.pre.instantiate(&mut store).expect("instantiates"));
                })
            });
        }
        c.bench_function(&format!("floor/{name}"), |b| {
            b.iter(|| floor.evaluate(black_box(&cart), black_box(&step)))
        });
    }
}
