//! The PostgreSQL store against a real, throwaway PostgreSQL cluster
//! ([`plaza_tests::pg::Cluster`]): the store's contract holds the same on sled and on
//! PostgreSQL (point reads, prefix scans and their pages, transactions that read their own
//! writes, abort whole, refuse tables they did not name, and keep a counter exact under
//! racing increments; a body that panics leaves its connection clean), a database a newer
//! Plaza migrated and a wrong connection string are
//! refused at start with a clear error, and the service runs on it end to end: the demo
//! plan quotes, racing commits take exactly a budget's orders, and a restart keeps them.

use plaza::store::{PgBackend, Store, StoreError, Table, TxError, TxExt, key, prefix};
use plaza_tests::pg::Cluster;
use plaza_tests::server::*;
use serde_json::json;
use std::sync::Arc;

fn sled() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    (dir, store)
}

fn postgres() -> Store {
    let url = Cluster::shared().database();
    Store::with_backend(Arc::new(PgBackend::open(&url).expect("opening PostgreSQL")))
}

/// The store's contract, as the domain relies on it.
fn contract(store: &Store) {
    // Point reads and writes.
    assert_eq!(store.get_raw(Table::Tenants, b"t").unwrap(), None);
    store.put_raw(Table::Tenants, b"t", b"one").unwrap();
    assert_eq!(
        store.get_raw(Table::Tenants, b"t").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(
        store.get_raw(Table::Keys, b"t").unwrap(),
        None,
        "tables are apart"
    );
    store.remove(Table::Tenants, b"t").unwrap();
    assert_eq!(store.get_raw(Table::Tenants, b"t").unwrap(), None);

    // Prefix scans in key order, paged, with parts of any bytes (0xff included).
    let parts: [&[u8]; 5] = [b"a", b"b", b"\xff", b"\xff\xff", b"b\x00c"];
    for p in parts {
        store
            .put_raw(Table::Orders, &key(&[b"shop", p]), p)
            .unwrap();
        store
            .put_raw(Table::Orders, &key(&[b"shop2", p]), p)
            .unwrap();
    }
    store.put_raw(Table::Orders, b"\xff\xff\xff", b"x").unwrap();
    let under = prefix(&[b"shop"]);
    let all = store.scan_keys(Table::Orders, &under, None, 100).unwrap();
    let mut want: Vec<Vec<u8>> = parts.iter().map(|p| key(&[b"shop", p])).collect();
    want.sort();
    assert_eq!(all, want);
    let first = store.scan_keys(Table::Orders, &under, None, 2).unwrap();
    let rest = store
        .scan_keys(Table::Orders, &under, first.last().map(Vec::as_slice), 100)
        .unwrap();
    assert_eq!([first, rest].concat(), want, "pages join up");
    let top = store.scan_keys(Table::Orders, b"\xff", None, 10).unwrap();
    assert_eq!(top, [b"\xff\xff\xff".to_vec()], "a prefix of 0xff bytes");
    assert_eq!(
        store
            .scan_keys(Table::Orders, b"", None, 100)
            .unwrap()
            .len(),
        11
    );

    // A transaction reads its own writes; an aborted one writes nothing.
    store
        .transact(&[Table::Counters, Table::Ledger], |tx| {
            tx.set_counter(b"c", 5)?;
            assert_eq!(tx.counter(b"c")?, 5);
            tx.remove(Table::Counters, b"c")?;
            assert_eq!(tx.counter(b"c")?, 0);
            tx.put(Table::Ledger, b"l", b"entry")
        })
        .unwrap();
    assert_eq!(
        store.get_raw(Table::Ledger, b"l").unwrap().as_deref(),
        Some(&b"entry"[..])
    );
    let aborted = store.transact(&[Table::Ledger], |tx| {
        tx.put(Table::Ledger, b"l", b"changed")?;
        tx.put(Table::Ledger, b"m", b"new")?;
        Err(TxError::Abort)
    });
    assert!(matches!(aborted, Err(TxError::Abort)));
    assert_eq!(
        store.get_raw(Table::Ledger, b"l").unwrap().as_deref(),
        Some(&b"entry"[..])
    );
    assert_eq!(store.get_raw(Table::Ledger, b"m").unwrap(), None);
    let unnamed = store.transact(&[Table::Ledger], |tx| tx.put(Table::Orders, b"o", b"x"));
    assert!(matches!(
        unnamed,
        Err(TxError::Store(StoreError::Backend(_)))
    ));
    assert_eq!(store.get_raw(Table::Orders, b"o").unwrap(), None);

    // A counter stays exact under racing increments (every tenth aborted).
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for i in 0..50 {
                    let _ = store.transact(&[Table::Counters], |tx| {
                        let now = tx.counter(b"budget")?;
                        tx.set_counter(b"budget", now + 1)?;
                        if i % 10 == 0 {
                            return Err(TxError::Abort);
                        }
                        Ok(())
                    });
                }
            });
        }
    });
    assert_eq!(store.counter(b"budget").unwrap(), 180);
    // A counter of another shape is corrupt, never zero.
    store.put_raw(Table::Counters, b"bad", b"123").unwrap();
    assert!(matches!(
        store.counter(b"bad"),
        Err(StoreError::Corrupt { .. })
    ));
}

#[test]
fn the_store_keeps_its_contract_on_sled_and_on_postgres() {
    let (_dir, on_sled) = sled();
    contract(&on_sled);
    contract(&postgres());
}

#[test]
fn a_transaction_whose_body_panicked_is_rolled_back_and_its_connection_reused() {
    let url = Cluster::shared().database();
    let open = || Store::with_backend(Arc::new(PgBackend::open(&url).unwrap()));
    let (store, other_host) = (open(), open());
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store.transact(&[Table::Ledger], |tx| {
            tx.get(Table::Ledger, b"anything")?;
            tx.put(Table::Ledger, b"half", b"x")?;
            panic!("a body that panics");
        })
    }));
    assert!(panicked.is_err());
    // Written elsewhere after the panicked body read: the connection it used (the next
    // one out of the pool) sees it, as it would not inside the body's old snapshot.
    other_host.put_raw(Table::Ledger, b"fresh", b"y").unwrap();
    assert_eq!(
        store.get_raw(Table::Ledger, b"fresh").unwrap().as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(store.get_raw(Table::Ledger, b"half").unwrap(), None);
    // Every connection works after bodies panicked on them all at once.
    std::thread::scope(|s| {
        for t in 0..plaza::store::PG_CONNECTIONS {
            let store = &store;
            s.spawn(move || {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    store.transact(&[Table::Ledger], |tx| {
                        tx.get(Table::Ledger, b"anything")?;
                        panic!("another body that panics")
                    })
                }));
                store
                    .transact(&[Table::Ledger], |tx| {
                        tx.put(Table::Ledger, format!("whole-{t}").as_bytes(), b"z")
                    })
                    .unwrap();
            });
        }
    });
    let kept = store
        .scan_keys(Table::Ledger, b"whole-", None, 100)
        .unwrap();
    assert_eq!(kept.len(), plaza::store::PG_CONNECTIONS, "{kept:?}");
}

#[test]
fn tenants_and_keys_are_read_from_memory_until_another_host_writes_them() {
    let url = Cluster::shared().database();
    let open = || Store::with_backend(Arc::new(PgBackend::open(&url).expect("opening")));
    let (a, b) = (open(), open());
    a.put_raw(Table::Keys, b"k", b"one").unwrap();
    a.put_raw(Table::Tenants, b"t", b"one").unwrap();
    assert_eq!(
        b.get_raw(Table::Keys, b"k").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(b.get_raw(Table::Keys, b"absent").unwrap(), None);
    assert_eq!(
        b.get_raw(Table::Tenants, b"t").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // A change behind the store's back (no feed entry) is not seen: B answers from memory.
    let sql = |table: &str, key: &str, value: &str| {
        Cluster::shared().psql(
            &url,
            &format!(
                "INSERT INTO plaza_records (tbl, k, v) VALUES ('{table}', '{key}', '{value}') \
                 ON CONFLICT (tbl, k) DO UPDATE SET v = excluded.v"
            ),
        );
    };
    sql("keys", "k", "behind");
    sql("keys", "absent", "behind");
    assert_eq!(
        b.get_raw(Table::Keys, b"k").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(
        b.get_raw(Table::Keys, b"absent").unwrap(),
        None,
        "absence is kept too"
    );
    // Orders are never kept.
    sql("orders", "o", "behind");
    assert_eq!(
        b.get_raw(Table::Orders, b"o").unwrap().as_deref(),
        Some(&b"behind"[..])
    );
    // A writes through the store: B reads afresh once it followed the feed; A at once.
    a.put_raw(Table::Keys, b"k", b"two").unwrap();
    assert_eq!(
        a.get_raw(Table::Keys, b"k").unwrap().as_deref(),
        Some(&b"two"[..])
    );
    assert_eq!(
        b.get_raw(Table::Keys, b"k").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    b.follow().unwrap();
    assert_eq!(
        b.get_raw(Table::Keys, b"k").unwrap().as_deref(),
        Some(&b"two"[..])
    );
    assert_eq!(
        b.get_raw(Table::Tenants, b"t").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(
        b.get_raw(Table::Keys, b"absent").unwrap(),
        None,
        "not named by the feed"
    );
    // Small whole scans are kept the same way, and dropped when a key under them is written.
    a.put_raw(Table::Pools, &key(&[b"agency", b"p1"]), b"one")
        .unwrap();
    let pools = |s: &Store| {
        s.scan_keys(Table::Pools, &prefix(&[b"agency"]), None, 100)
            .unwrap()
    };
    assert_eq!(pools(&b).len(), 1);
    sql("pools", "agency\\000p0", "behind");
    assert_eq!(pools(&b).len(), 1, "kept");
    a.put_raw(Table::Pools, &key(&[b"agency", b"p2"]), b"two")
        .unwrap();
    assert_eq!(pools(&b).len(), 1);
    b.follow().unwrap();
    assert_eq!(pools(&b).len(), 3, "read afresh");
    // Entries B missed (pruned): B forgets everything it kept.
    a.put_raw(Table::Keys, b"k", b"three").unwrap();
    a.put_raw(Table::Keys, b"k2", b"x").unwrap();
    let last = a.counter(&key(&[b"", b"invalidations"])).unwrap();
    assert!(last >= 4, "one entry per transaction: {last}");
    Cluster::shared().psql(
        &url,
        &format!(
            "DELETE FROM plaza_records WHERE tbl = 'invalidations' \
             AND k < '\\x{}'::bytea",
            hex::encode(last.to_be_bytes())
        ),
    );
    b.follow().unwrap();
    assert_eq!(
        b.get_raw(Table::Keys, b"k").unwrap().as_deref(),
        Some(&b"three"[..])
    );
    assert_eq!(
        b.get_raw(Table::Keys, b"absent").unwrap().as_deref(),
        Some(&b"behind"[..])
    );
}

#[test]
fn several_hosts_starting_at_once_on_a_fresh_database_migrate_it_once() {
    let url = Cluster::shared().database();
    let opened: Vec<Result<PgBackend, StoreError>> = std::thread::scope(|s| {
        let starting: Vec<_> = (0..4).map(|_| s.spawn(|| PgBackend::open(&url))).collect();
        starting.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for o in &opened {
        assert!(o.is_ok(), "{:?}", o.as_ref().err());
    }
    let store = Store::with_backend(Arc::new(opened.into_iter().next().unwrap().unwrap()));
    store.put_raw(Table::Orders, b"o", b"v").unwrap();
    assert_eq!(
        store.get_raw(Table::Orders, b"o").unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
fn a_database_a_newer_plaza_migrated_and_a_wrong_address_are_refused_at_start() {
    let url = Cluster::shared().database();
    drop(PgBackend::open(&url).expect("a fresh database migrates"));
    drop(PgBackend::open(&url).expect("and opens again"));
    // A later Plaza's migration.
    Cluster::shared().psql(
        &url,
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
         VALUES (999, 'from_the_future', '2027-01-01T00:00:00Z', '0')",
    );
    let refused = PgBackend::open(&url).expect_err("a newer schema");
    assert!(
        refused.to_string().contains("migrating PostgreSQL"),
        "{refused}"
    );
    let wrong = PgBackend::open("postgres://postgres@127.0.0.1:1/nowhere").expect_err("no server");
    let said = wrong.to_string();
    assert!(
        said.contains("connecting to PostgreSQL") && !said.contains("password"),
        "{said}"
    );
}

#[test]
fn the_service_runs_on_postgres_and_keeps_its_orders_across_a_restart() {
    let url = Cluster::shared().database();
    let server = Server::start_configured(|c| c.store = Some(url));
    let shop = server.operator().create_tenant("teahouse", "merchant");
    with_demo_plan(&shop);
    let checkout = server.operator().issue_key("teahouse", "checkout");
    let quoted = checkout.post("/v1/plans/teahouse-autumn/quote", &demo_cart());
    assert_eq!(quoted.status, 200, "{}", quoted.text);
    shop.apply(&budget_plan("flash", json!({"max_orders": 10})));
    let cart = json!({"lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse",
                                 "quantity": 1, "unit_price": 20000}],
                      "buyer": {"id": "b-1"}, "now_ms": 1_795_000_000_000i64});
    let placed: Vec<(u16, String)> = std::thread::scope(|s| {
        let racers: Vec<_> = (0..4)
            .map(|t| {
                let (checkout, cart) = (&checkout, &cart);
                s.spawn(move || {
                    (0..10)
                        .map(|i| {
                            let id = format!("o-{t}-{i}");
                            let placed =
                                checkout.post("/v1/orders", &commit_request(&id, "flash", cart));
                            (placed.status, placed.error_type().to_owned())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        racers.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    // ¥10 off ¥200 while the budget lasts.
    let discounted = |orders: &serde_json::Value| {
        (orders["items"].as_array().unwrap().iter())
            .filter(|o| o["paid"] == 19_000)
            .count()
    };
    // A commit whose quote still saw room, racing one that took the last of it, is
    // refused (the checkout quotes again); every other commit is stored.
    let stored = placed.iter().filter(|(s, _)| *s == 201).count();
    assert!(
        (placed.iter()).all(|(s, t)| *s == 201 || (*s, t.as_str()) == (409, "budget_exhausted")),
        "{placed:?}"
    );
    let listed = checkout.get("/v1/orders?limit=100");
    assert_eq!(listed.body["items"].as_array().unwrap().len(), stored);
    assert_eq!(
        discounted(&listed.body),
        10,
        "the budget's ten orders, exactly"
    );
    let server = server.restart();
    let checkout = Api::new(&server.base, checkout.key.as_deref().unwrap());
    let again = checkout.get("/v1/orders?limit=100");
    assert_eq!(
        again.body["items"].as_array().unwrap().len(),
        stored,
        "{}",
        again.text
    );
    assert_eq!(discounted(&again.body), 10);
}

#[test]
fn the_database_restarted_under_load_answers_503_meanwhile_and_loses_no_acknowledged_order() {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    let cluster = Cluster::start();
    let url = cluster.database();
    let server = Server::start_configured(|c| c.store = Some(url));
    let shop = server.operator().create_tenant("teahouse", "merchant");
    assert_eq!(shop.upload("threshold-discount").status, 201);
    shop.apply(&budget_plan("flash", json!({"max_orders": 1_000_000})));
    let checkout = server.operator().issue_key("teahouse", "checkout");
    let cart = json!({"lines": [{"id": "l1", "sku": "tea", "merchant": "teahouse",
                                 "quantity": 1, "unit_price": 20000}],
                      "buyer": {"id": "b-1"}, "now_ms": 1_795_000_000_000i64});
    let (done, acked, answers) = (
        AtomicBool::new(false),
        Mutex::new(Vec::new()),
        Mutex::new(Vec::new()),
    );
    let acked_len = || acked.lock().unwrap().len();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    std::thread::scope(|s| {
        for t in 0..2 {
            let (checkout, cart, done, acked, answers) =
                (&checkout, &cart, &done, &acked, &answers);
            s.spawn(move || {
                let mut i = 0;
                while !done.load(Ordering::Relaxed) {
                    i += 1;
                    let id = format!("o-{t}-{i}");
                    let placed = checkout.post("/v1/orders", &commit_request(&id, "flash", cart));
                    if placed.status == 201 {
                        acked.lock().unwrap().push(id);
                    }
                    answers
                        .lock()
                        .unwrap()
                        .push((placed.status, placed.error_type().to_owned()));
                }
            });
        }
        while acked_len() < 20 {
            assert!(std::time::Instant::now() < deadline);
            std::thread::yield_now();
        }
        cluster.stop();
        let away = |a: &(u16, String)| *a == (503, "unavailable".to_owned());
        while !answers.lock().unwrap().iter().any(away) {
            assert!(
                std::time::Instant::now() < deadline,
                "no 503 while the database was away"
            );
            std::thread::yield_now();
        }
        let before = acked_len();
        cluster.start_again();
        while acked_len() < before + 20 {
            assert!(
                std::time::Instant::now() < deadline,
                "the host did not recover"
            );
            std::thread::yield_now();
        }
        done.store(true, Ordering::Relaxed);
    });
    let answers = answers.into_inner().unwrap();
    assert!(
        answers
            .iter()
            .all(|(s, t)| *s == 201 || (*s, t.as_str()) == (503, "unavailable")),
        "{answers:?}"
    );
    for id in acked.into_inner().unwrap() {
        let stored = checkout.get(&format!("/v1/orders/{id}"));
        assert_eq!(
            stored.status, 200,
            "acknowledged {id} lost: {}",
            stored.text
        );
    }
}
