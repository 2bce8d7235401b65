//! The account against a reference model that keeps every point as its own unit (with
//! its expiry and source), over random sequences of grants, earnings, orders placed,
//! paid, given back and reversed, and time passing.
// Counts of a few hundred points and operations: casts between them cannot wrap.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use super::*;
use proptest::prelude::*;

const DAY: i64 = 86_400_000;

#[derive(Clone, Debug)]
enum Op {
    Grant(i64),
    Earn(i64),
    Place(i64),
    Pay(usize),
    GiveBack(usize, i64),
    Reverse(usize, i64),
    Tick(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1..40i64).prop_map(Op::Grant),
        (1..40i64).prop_map(Op::Earn),
        (1..60i64).prop_map(Op::Place),
        (0..8usize).prop_map(Op::Pay),
        (0..8usize, 1..30i64).prop_map(|(o, p)| Op::GiveBack(o, p)),
        (0..8usize, 1..30i64).prop_map(|(o, p)| Op::Reverse(o, p)),
        (1..(3 * DAY)).prop_map(Op::Tick),
    ]
}

/// One unit per point: (expiry, source).
#[derive(Default)]
struct Model {
    units: Vec<(i64, String)>,
    held: i64,
}

impl Model {
    fn usable(&self, now: i64) -> i64 {
        self.units.iter().filter(|(at, _)| *at > now).count() as i64
    }
    fn expire(&mut self, now: i64) {
        self.units.retain(|(at, _)| *at > now);
    }
    /// The soonest-expiring units (stable among equals).
    fn take(&mut self, n: i64) -> Vec<(i64, String)> {
        self.units.sort_by_key(|(at, _)| *at);
        self.units.drain(..n as usize).collect()
    }
}

struct Order {
    source: String,
    taken: Vec<Taken>,
    units: Vec<(i64, String)>,
    paid: bool,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn the_account_matches_a_model_of_single_points(ops in proptest::collection::vec(op(), 1..60)) {
        let mut account = Account::default();
        let mut model = Model::default();
        let mut ledger: Vec<Entry> = Vec::new();
        let mut orders: Vec<Order> = Vec::new();
        let mut earned: Vec<String> = Vec::new();
        let mut now = 1_000 * DAY;
        for (i, op) in ops.into_iter().enumerate() {
            let mut out = Vec::new();
            // Every lot expires at its own time, so that a lot is known by its expiry.
            let expiry = now + DAY + i as i64 * 1_000 + 7;
            match op {
                Op::Grant(p) | Op::Earn(p) => {
                    let (kind, source) = match op {
                        Op::Grant(_) => (EntryKind::Grant, format!("grant:{i}")),
                        _ => (EntryKind::Earn, format!("order:e{i}")),
                    };
                    if kind == EntryKind::Earn {
                        earned.push(source.clone());
                    }
                    account.credit(now, kind, &source, p, Some(expiry), &mut out);
                    model.units.extend((0..p).map(|_| (expiry, source.clone())));
                }
                Op::Place(p) => {
                    let source = format!("order:o{i}");
                    let usable = model.usable(now);
                    match account.reserve(now, &source, p, &mut out) {
                        Some(taken) => {
                            prop_assert!(usable >= p);
                            model.expire(now);
                            let units = model.take(p);
                            model.held += p;
                            let mut by_expiry: Vec<(Option<i64>, i64)> = Vec::new();
                            for (at, _) in &units {
                                match by_expiry.last_mut() {
                                    Some((e, n)) if *e == Some(*at) => *n += 1,
                                    _ => by_expiry.push((Some(*at), 1)),
                                }
                            }
                            let mine: Vec<(Option<i64>, i64)> =
                                taken.iter().map(|t| (t.expires_ms, t.points)).collect();
                            prop_assert_eq!(mine, by_expiry);
                            orders.push(Order { source, taken, units, paid: false });
                        }
                        None => prop_assert!(usable < p, "{usable} usable, {p} refused"),
                    }
                }
                Op::Pay(o) => {
                    if let Some(order) = orders.get_mut(o) && !order.paid {
                        order.paid = true;
                        let holding = order.units.len() as i64;
                        account.redeem(now, &order.source, holding, &mut out);
                        model.held -= holding;
                    }
                }
                Op::GiveBack(o, p) => {
                    if let Some(order) = orders.get_mut(o) {
                        let p = p.min(order.units.len() as i64);
                        account.give_back(now, &order.source, &mut order.taken, p, !order.paid, &mut out);
                        for _ in 0..p {
                            let unit = order.units.pop().expect("counted");
                            model.units.push(unit);
                        }
                        if !order.paid {
                            model.held -= p;
                        }
                        // What comes back to a lot whose time ran out expires at once.
                        model.expire(now);
                    }
                }
                Op::Reverse(e, p) => {
                    if let Some(source) = earned.get(e) {
                        let before = model.units.len();
                        let mut left = p;
                        model.units.retain(|(_, s)| {
                            let drop = left > 0 && s == source;
                            if drop {
                                left -= 1;
                            }
                            !drop
                        });
                        let back = (before - model.units.len()) as i64;
                        account.reverse(now, source, p, &mut out);
                        let entry = out.last().expect("one entry");
                        prop_assert_eq!((entry.points, entry.unrecovered), (-back, p - back));
                    }
                }
                Op::Tick(ms) => {
                    now += ms;
                    account.expire_due(now, &mut out);
                    model.expire(now);
                }
            }
            ledger.extend(out);
            prop_assert_eq!(account.usable(now), model.usable(now));
            prop_assert_eq!(account.held, model.held);
            prop_assert!(account.balance >= 0 && account.held >= 0);
            prop_assert!(account.lots.iter().all(|l| l.left > 0));
            prop_assert_eq!(account.balance, account.lots.iter().map(|l| l.left).sum::<i64>());
            prop_assert_eq!(account.balance, ledger.iter().map(|e| e.points).sum::<i64>());
            prop_assert_eq!(account.held, ledger.iter().map(|e| e.held).sum::<i64>());
            prop_assert_eq!(account.entries, ledger.len() as u64);
            for lot in &account.lots {
                let at = lot.expires_ms.expect("every test lot expires");
                let units = model.units.iter().filter(|(e, _)| *e == at).count() as i64;
                prop_assert_eq!(lot.left, units, "lot {}", lot.source);
            }
        }
    }
}

#[test]
fn lots_that_never_expire_are_spent_last() {
    let mut account = Account::default();
    let mut out = Vec::new();
    account.credit(0, EntryKind::Grant, "grant:forever", 50, None, &mut out);
    account.credit(0, EntryKind::Grant, "grant:soon", 30, Some(DAY), &mut out);
    let taken = account.reserve(10, "order:a", 40, &mut out).unwrap();
    assert_eq!(
        taken
            .iter()
            .map(|t| (t.source.as_str(), t.points))
            .collect::<Vec<_>>(),
        [("grant:soon", 30), ("grant:forever", 10)]
    );
    assert_eq!((account.balance, account.held), (40, 40));
}

#[test]
fn points_given_back_after_their_lot_expired_expire_at_once() {
    let mut account = Account::default();
    let mut out = Vec::new();
    account.credit(0, EntryKind::Grant, "grant:g", 30, Some(DAY), &mut out);
    let mut taken = account.reserve(1, "order:a", 30, &mut out).unwrap();
    account.give_back(2 * DAY, "order:a", &mut taken, 30, true, &mut out);
    let kinds: Vec<EntryKind> = out.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EntryKind::Grant,
            EntryKind::Reserve,
            EntryKind::Release,
            EntryKind::Expire
        ]
    );
    assert_eq!(
        (account.balance, account.held, account.lots.len()),
        (0, 0, 0)
    );
}
