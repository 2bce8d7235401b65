//! Compiling uploads is bounded for real: compile bombs (small modules that make Cranelift
//! run for minutes or allocate gigabytes) are stopped in their worker process, twice in a
//! row, while the server keeps answering with its own memory untouched; nothing of a
//! stopped compile is cached.

use plaza_tests::server::*;
use std::time::{Duration, Instant};

fn leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = u8::try_from(n & 0x7f).unwrap();
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn section(id: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(id);
    leb(payload.len(), out);
    out.extend_from_slice(payload);
}

/// A component whose one function reads `locals` i64 locals inside `depth` nested loops:
/// every read must be threaded through every loop header, so Cranelift builds
/// locals × depth values out of a few hundred kilobytes of wasm.
fn compile_bomb(locals: usize, depth: usize) -> Vec<u8> {
    let mut body = vec![1];
    leb(locals, &mut body);
    body.push(0x7e);
    for _ in 0..depth {
        body.extend_from_slice(&[0x03, 0x40]);
    }
    for i in 0..locals {
        body.push(0x20);
        leb(i, &mut body);
        body.push(0x1a);
    }
    body.extend(std::iter::repeat_n(0x0b, depth + 1));
    let mut code = vec![1];
    leb(body.len(), &mut code);
    code.extend_from_slice(&body);
    let mut core = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[1, 0x60, 0, 0], &mut core);
    section(3, &[1, 0], &mut core);
    section(10, &code, &mut core);
    let mut component = b"\0asm\x0d\0\x01\0".to_vec();
    section(1, &core, &mut component);
    component
}

fn artifacts(server: &Server) -> Vec<String> {
    std::fs::read_dir(server.config.data_dir.join("artifacts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// The test process's peak resident memory (the in-process server's included).
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn a_compile_bomb_is_stopped_at_the_timeout_twice_and_leaves_nothing_behind() {
    let server = Server::start_configured(|c| c.compile_timeout_ms = 1_500);
    let shop = server.operator().create_tenant("teahouse", "merchant");
    let bomb = compile_bomb(20_000, 300);
    assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let health = {
        let (base, done) = (server.base.clone(), done.clone());
        std::thread::spawn(move || {
            let probe = Api::anonymous(&base);
            let mut probes = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let started = Instant::now();
                let status = probe.get("/healthz").status;
                probes.push((status, started.elapsed()));
            }
            probes
        })
    };
    for attempt in 0..2 {
        let started = Instant::now();
        let refused = shop.post_bytes("/v1/plugins", &bomb, "application/wasm");
        assert_eq!(refused.status, 422, "attempt {attempt}: {}", refused.text);
        assert_eq!(refused.error_type(), "compile_timeout");
        assert!(
            started.elapsed() >= Duration::from_millis(1_500),
            "attempt {attempt} compiled again rather than finding a cached artifact"
        );
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let probes = health.join().unwrap();
    assert!(probes.len() > 10, "{} probes", probes.len());
    assert!(probes.iter().all(|(status, _)| *status == 200));
    let slowest = probes.iter().map(|p| p.1).max().unwrap();
    assert!(
        slowest < Duration::from_millis(500),
        "health kept answering: slowest {slowest:?}"
    );
    assert!(artifacts(&server).is_empty(), "{:?}", artifacts(&server));
    assert_eq!(shop.upload("store-coupon").status, 201);
    assert_eq!(artifacts(&server).len(), 1, "{:?}", artifacts(&server));
}

#[test]
fn a_compile_bomb_that_eats_memory_is_ended_by_its_workers_limit_not_the_servers() {
    let server = Server::start_configured(|c| {
        c.compile_timeout_ms = 30_000;
        c.compile_memory_bytes = 1_536 << 20;
    });
    let shop = server.operator().create_tenant("teahouse", "merchant");
    let bomb = compile_bomb(50_000, 2_000);
    assert!(
        bomb.len() < plaza::sandbox::DEFAULT_MAX_MODULE_BYTES,
        "{} bytes",
        bomb.len()
    );
    for attempt in 0..2 {
        let refused = shop.post_bytes("/v1/plugins", &bomb, "application/wasm");
        assert_eq!(refused.status, 422, "attempt {attempt}: {}", refused.text);
        assert_eq!(refused.error_type(), "compile_stopped", "{}", refused.text);
        assert_eq!(Api::anonymous(&server.base).get("/healthz").status, 200);
    }
    // Compiled in this process, the bomb would have taken it past 1.5 GiB.
    assert!(
        peak_rss_bytes() < 1 << 30,
        "the test process peaked at {} MiB",
        peak_rss_bytes() >> 20
    );
    assert!(artifacts(&server).is_empty());
    assert_eq!(shop.upload("threshold-discount").status, 201);
}
