//! A model-based property test of commission settlement through the real server on sled:
//! random sequences of commits (二级团 waterfall carts), pay / ship / receive, partial
//! refunds by units (before and after settlement), time passing (payment timeouts,
//! after-sale windows), settlement runs and their replays. After every step the server is
//! checked against a small reference model written here: every order's lines, shares and
//! ledger to the fen, every beneficiary's pending, settleable, carried and paid-out
//! balance, every statement of every run, and the step's budget.

use plaza::clock::{Clock as _, ManualClock};
use plaza::domain::order_settings::{DEFAULT_AFTER_SALE_MS, DEFAULT_PAYMENT_TIMEOUT_MS};
use plaza_tests::server::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const T0: i64 = 1_800_000_000_000;
/// The waterfall's rates, parts per million of what the payer received.
const RATES: [i64; 3] = [200_000, 500_000, 800_000];
const PROMOTERS: [&str; 2] = ["p-1", "p-2"];

#[derive(Clone, Debug)]
enum Op {
    /// Lines of (units, unit price); whether a helper agency carries it; which promoter;
    /// the shipping fee.
    Commit(Vec<(u32, i64)>, bool, usize, i64),
    /// The next lifecycle event of an order (paid, shipped, received), by index modulo
    /// the orders placed so far.
    Event(usize),
    /// A refund of an order, by index modulo the orders placed so far.
    Refund(usize, Give),
    Advance(i64),
    Settle,
    /// The last run again, same request.
    Replay,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (prop::collection::vec((2u32..=4, 1i64..=30_000), 1..=2), any::<bool>(), 0usize..2, prop_oneof![Just(0i64), Just(1_000)])
            .prop_map(|(l, h, p, f)| Op::Commit(l, h, p, f)),
        10 => (0usize..64).prop_map(Op::Event),
        6 => (0usize..64, prop_oneof![
            3 => (0usize..2, 1u32..=3).prop_map(|(l, k)| Give::Units(l, k)),
            2 => (0usize..2, 1i64..=1_001).prop_map(|(l, m)| Give::Amount(l, m)),
            1 => (1i64..=1_200).prop_map(Give::Shipping),
            1 => Just(Give::All),
        ])
            .prop_map(|(o, g)| Op::Refund(o, g)),
        3 => prop_oneof![
            1 => Just(60_000i64),
            1 => Just(DEFAULT_PAYMENT_TIMEOUT_MS + 1),
            2 => Just(DEFAULT_AFTER_SALE_MS + 1),
        ]
        .prop_map(Op::Advance),
        2 => Just(Op::Settle),
        1 => Just(Op::Replay),
    ]
}

/// What a refund gives back.
#[derive(Clone, Copy, Debug)]
enum Give {
    /// Units of a line (possibly more than it holds).
    Units(usize, u32),
    /// Per mille of the money a line holds (over 1000: more than it holds).
    Amount(usize, i64),
    /// Fen of the shipping (possibly more than is left).
    Shipping(i64),
    /// Everything left.
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Pending,
    Settleable,
    Settled,
}

#[derive(Clone, Debug)]
struct Share {
    line: usize,
    payee: String,
    /// The paying beneficiary (none: the merchant).
    payer: Option<String>,
    amount: i64,
    reversed: i64,
    clawed: i64,
    state: St,
}

impl Share {
    fn left(&self) -> i64 {
        self.amount - self.reversed - self.clawed
    }
}

#[derive(Clone, Debug)]
struct Line {
    units: u32,
    held: u32,
    payable: i64,
    refunded: i64,
    /// The budget still reserved on the line.
    reserved: i64,
}

#[derive(Clone, Debug)]
struct Order {
    id: String,
    lines: Vec<Line>,
    shipping: i64,
    shipping_refunded: i64,
    shares: Vec<Share>,
    /// placed, paid, shipped, received, completed, expired.
    state: &'static str,
    pay_by: i64,
    after_sale_end: i64,
    /// Its order count is still reserved.
    counted: bool,
}

/// The fen `per_mille` asks of what `line` still holds (one fen more than it holds past
/// 1000).
fn amount_of(line: &Line, per_mille: i64) -> i64 {
    let left = line.payable - line.refunded;
    left * per_mille / 1000 + i64::from(per_mille > 1000)
}

/// The refund request for `give` on `order`.
fn refund_body(order: &Order, refund_id: &str, give: Give) -> Value {
    match give {
        Give::Units(l, k) => {
            json!({"refund_id": refund_id, "lines": [{"line": format!("l{l}"), "quantity": k}]})
        }
        Give::Amount(l, per_mille) => {
            let amount = order
                .lines
                .get(l)
                .map_or(1, |line| amount_of(line, per_mille));
            json!({"refund_id": refund_id, "lines": [{"line": format!("l{l}"), "amount": amount}]})
        }
        Give::Shipping(fen) => json!({"refund_id": refund_id, "shipping": fen}),
        Give::All => json!({"refund_id": refund_id, "all": true}),
    }
}

/// `left × part / whole`, all of it for the whole (k of r units, or an amount of the money
/// a line holds).
fn portion(left: i64, part: i128, whole: i128) -> i64 {
    if part >= whole {
        left
    } else {
        i64::try_from(i128::from(left) * part / whole).unwrap()
    }
}

#[derive(Default)]
struct Model {
    orders: Vec<Order>,
    carried: BTreeMap<String, i64>,
    paid_out: BTreeMap<String, i64>,
    /// Runs: (id, until, statements by beneficiary: [received, paid_on, brought, net,
    /// payout, carried_forward]).
    runs: Vec<(String, i64, BTreeMap<String, [i64; 6]>)>,
}

impl Model {
    fn commit(
        &mut self,
        id: String,
        lines: &[(u32, i64)],
        helper: bool,
        promoter: &str,
        shipping: i64,
        now: i64,
    ) {
        let mut chain = vec!["ag-1"];
        if helper {
            chain.push("ag-2");
        }
        chain.push(promoter);
        let rates = if helper {
            RATES.to_vec()
        } else {
            vec![RATES[0], RATES[2]]
        };
        let mut shares = Vec::new();
        let mut out = Vec::new();
        for (i, (units, price)) in lines.iter().enumerate() {
            let payable = i64::from(*units) * price;
            let mut base = payable;
            let mut payer = None;
            let mut on_line = 0;
            for (who, rate) in chain.iter().zip(&rates) {
                let amount = base * rate / 1_000_000;
                if amount == 0 {
                    break;
                }
                shares.push(Share {
                    line: i,
                    payee: (*who).to_owned(),
                    payer: payer.clone(),
                    amount,
                    reversed: 0,
                    clawed: 0,
                    state: St::Pending,
                });
                on_line += amount;
                payer = Some((*who).to_owned());
                base = amount;
            }
            out.push(Line {
                units: *units,
                held: *units,
                payable,
                refunded: 0,
                reserved: on_line,
            });
        }
        // Only a step that applied (paid some commission) reserves its budget.
        let counted = !shares.is_empty();
        self.orders.push(Order {
            id,
            lines: out,
            shipping,
            shipping_refunded: 0,
            shares,
            state: "placed",
            pay_by: now + DEFAULT_PAYMENT_TIMEOUT_MS,
            after_sale_end: 0,
            counted,
        });
    }

    /// Take `back` of share `s`: reversed before settlement, clawed back after.
    fn take_back(&mut self, o: usize, s: usize, back: i64) {
        let share = &mut self.orders[o].shares[s];
        if share.state == St::Settled {
            share.clawed += back;
            let (payee, payer) = (share.payee.clone(), share.payer.clone());
            *self.carried.entry(payee).or_default() -= back;
            if let Some(payer) = payer {
                *self.carried.entry(payer).or_default() += back;
            }
        } else {
            share.reversed += back;
        }
    }

    fn expire(&mut self, o: usize) {
        for s in 0..self.orders[o].shares.len() {
            let left = self.orders[o].shares[s].left();
            self.take_back(o, s, left);
        }
        let order = &mut self.orders[o];
        for l in &mut order.lines {
            l.held = 0;
            l.refunded = l.payable;
            l.reserved = 0;
        }
        order.shipping_refunded = order.shipping;
        order.counted = false;
        order.state = "expired";
    }

    /// What moving the clock to `now` fires; the orders it changes.
    fn advance(&mut self, now: i64) -> Vec<usize> {
        let mut changed = Vec::new();
        for o in 0..self.orders.len() {
            let order = &self.orders[o];
            if order.state == "placed" && order.pay_by <= now {
                self.expire(o);
                changed.push(o);
            } else if order.state == "received" && order.after_sale_end <= now {
                let order = &mut self.orders[o];
                order.state = "completed";
                for s in &mut order.shares {
                    s.state = St::Settleable;
                }
                changed.push(o);
            }
        }
        changed
    }

    /// A refund's expected answer status (the model changes only on 200).
    fn refund(&mut self, o: usize, give: Give) -> u16 {
        // The request's shape is judged before the order: a non-positive amount is
        // refused whatever state the order is in.
        if let Give::Amount(l, per_mille) = give
            && self.orders[o]
                .lines
                .get(l)
                .is_some_and(|line| amount_of(line, per_mille) <= 0)
        {
            return 422;
        }
        if self.orders[o].state == "expired" {
            return 409;
        }
        // (line, part, whole, units) of each line given back.
        let mut parts = Vec::new();
        let mut shipping = 0;
        let order = &self.orders[o];
        match give {
            Give::Units(l, k) => {
                let Some(line) = order.lines.get(l) else {
                    return 422;
                };
                if k > line.held {
                    return 422;
                }
                parts.push((l, i128::from(k), i128::from(line.held), k));
            }
            Give::Amount(l, per_mille) => {
                let Some(line) = order.lines.get(l) else {
                    return 422;
                };
                let left = line.payable - line.refunded;
                let amount = amount_of(line, per_mille);
                if amount <= 0 || amount > left {
                    return 422;
                }
                parts.push((l, i128::from(amount), i128::from(left), 0));
            }
            Give::Shipping(fen) => {
                if fen > order.shipping - order.shipping_refunded {
                    return 422;
                }
                shipping = fen;
            }
            Give::All => {
                for (l, line) in order.lines.iter().enumerate() {
                    if line.held > 0 {
                        parts.push((l, 1, 1, line.held));
                    }
                }
                let rest = order.shipping - order.shipping_refunded;
                if parts.is_empty() && rest == 0 {
                    return 422;
                }
            }
        }
        for (l, p, w, units) in parts {
            let line = &mut self.orders[o].lines[l];
            line.refunded += portion(line.payable - line.refunded, p, w);
            line.reserved -= portion(line.reserved, p, w);
            line.held -= units;
            for s in 0..self.orders[o].shares.len() {
                if self.orders[o].shares[s].line == l {
                    let back = portion(self.orders[o].shares[s].left(), p, w);
                    self.take_back(o, s, back);
                }
            }
        }
        let order = &mut self.orders[o];
        order.shipping_refunded += shipping;
        let units_back = order.lines.iter().all(|l| l.held == 0);
        if units_back {
            order.shipping_refunded = order.shipping;
        }
        let money_back = order.lines.iter().all(|l| l.refunded == l.payable)
            && order.shipping_refunded == order.shipping;
        if units_back || money_back {
            order.lines.iter_mut().for_each(|l| l.reserved = 0);
            order.counted = false;
        }
        200
    }

    fn settle(&mut self, id: String, until: i64) {
        let mut gathered: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for order in &mut self.orders {
            for s in &mut order.shares {
                if s.state == St::Settleable && s.left() != 0 {
                    s.state = St::Settled;
                    gathered.entry(s.payee.clone()).or_default().0 += s.left();
                    if let Some(payer) = &s.payer {
                        gathered.entry(payer.clone()).or_default().1 += s.left();
                    }
                }
            }
        }
        for (who, carried) in &self.carried {
            if *carried != 0 {
                gathered.entry(who.clone()).or_default();
            }
        }
        let mut statements = BTreeMap::new();
        for (who, (received, paid_on)) in gathered {
            let brought = self.carried.get(&who).copied().unwrap_or(0);
            let net = received - paid_on + brought;
            let (payout, forward) = (net.max(0), net.min(0));
            self.carried.insert(who.clone(), forward);
            *self.paid_out.entry(who.clone()).or_default() += payout;
            statements.insert(who, [received, paid_on, brought, net, payout, forward]);
        }
        self.runs.push((id, until, statements));
    }

    /// A beneficiary's [pending, settleable, carried, paid_out].
    fn balance(&self, who: &str) -> [i64; 4] {
        let mut b = [0, 0, 0, 0];
        for s in self.orders.iter().flat_map(|o| &o.shares) {
            let sign = if s.payee == who {
                1
            } else if s.payer.as_deref() == Some(who) {
                -1
            } else {
                continue;
            };
            match s.state {
                St::Pending => b[0] += sign * s.left(),
                St::Settleable => b[1] += sign * s.left(),
                St::Settled => {}
            }
        }
        b[2] = self.carried.get(who).copied().unwrap_or(0);
        b[3] = self.paid_out.get(who).copied().unwrap_or(0);
        b
    }
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if cond {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

/// Poll until the server's timer tick has moved `order` into `state`.
fn wait_state(shop: &Api, order: &str, state: &str) -> Result<(), TestCaseError> {
    let started = std::time::Instant::now();
    loop {
        if shop.get(&format!("/v1/orders/{order}")).body["state"] == state {
            return Ok(());
        }
        check(started.elapsed().as_secs() < 20, || {
            format!("{order} never became {state}")
        })?;
        std::thread::yield_now();
    }
}

fn verify(shop: &Api, m: &Model) -> Result<(), TestCaseError> {
    for o in &m.orders {
        let got = shop.get(&format!("/v1/orders/{}", o.id)).body;
        check(got["state"] == o.state, || {
            format!("{}: state {} vs {}", o.id, got["state"], o.state)
        })?;
        for (i, l) in o.lines.iter().enumerate() {
            let g = &got["lines"][i];
            let same = g["refunded"] == l.refunded && g["refunded_quantity"] == l.units - l.held;
            check(same, || format!("{} line {i}: {g} vs {l:?}", o.id))?;
        }
        let shares = got["commissions"].as_array().unwrap();
        check(shares.len() == o.shares.len(), || {
            format!("{}: shares {got}", o.id)
        })?;
        for (g, s) in shares.iter().zip(&o.shares) {
            let state = match s.state {
                St::Pending => "pending",
                St::Settleable => "settleable",
                St::Settled => "settled",
            };
            let same = g["payee"] == s.payee.as_str()
                && g["amount"] == s.amount
                && g["reversed"] == s.reversed
                && g["clawed_back"] == s.clawed
                && g["state"] == state;
            check(same, || format!("{}: share {g} vs {s:?}", o.id))?;
            let line_paid = o.lines[s.line].payable;
            check(g["settled"].as_i64().unwrap() <= line_paid, || {
                format!("{}: settled over the line: {g}", o.id)
            })?;
        }
        // The ledger sums to what the order still holds and owes, per beneficiary too.
        let mut money = 0;
        let mut owed: BTreeMap<String, i64> = BTreeMap::new();
        for page in pages(shop, &format!("/v1/orders/{}/ledger", o.id), "") {
            for e in page["items"].as_array().unwrap() {
                let amount = e["amount"].as_i64().unwrap();
                match e["party"].as_str() {
                    Some(who) => *owed.entry(who.to_owned()).or_default() += amount,
                    None => money += amount,
                }
            }
        }
        let held: i64 = o.lines.iter().map(|l| l.payable - l.refunded).sum::<i64>() + o.shipping
            - o.shipping_refunded;
        check(money == held, || {
            format!("{}: ledger money {money}, model {held}", o.id)
        })?;
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        for s in &o.shares {
            *expected.entry(s.payee.clone()).or_default() += s.left();
        }
        owed.retain(|_, v| *v != 0);
        expected.retain(|_, v| *v != 0);
        check(owed == expected, || {
            format!("{}: ledger by party {owed:?}, model {expected:?}", o.id)
        })?;
    }
    for who in ["ag-1", "ag-2", "p-1", "p-2"] {
        let f = &shop.get(&format!("/v1/beneficiaries/{who}/balance")).body["total"];
        let got = ["pending", "settleable", "carried", "paid_out"].map(|k| f[k].as_i64().unwrap());
        let want = m.balance(who);
        check(got == want, || {
            format!("{who}: balance {got:?}, model {want:?}")
        })?;
    }
    let usage = &shop.get("/v1/plans/w/budgets").body[0];
    let reserved: i64 = m
        .orders
        .iter()
        .flat_map(|o| &o.lines)
        .map(|l| l.reserved)
        .sum();
    let counted = m.orders.iter().filter(|o| o.counted).count() as i64;
    check(
        usage["amount"] == reserved && usage["orders"] == counted,
        || format!("budget {usage}, model amount {reserved}, orders {counted}"),
    )
}

fn run_case(
    server: &Server,
    clock: &ManualClock,
    case: usize,
    ops: &[Op],
) -> Result<(), TestCaseError> {
    let tenant = format!("shop-{case}");
    let shop = server.operator().create_tenant(&tenant, "merchant");
    shop.trust_checkout_attribution();
    assert_eq!(shop.upload("agency-waterfall").status, 201);
    shop.apply(&json!({"id": "w", "steps": [{
        "id": "waterfall", "plugin": {"name": "agency-waterfall", "version": "1.1.0"},
        "config": {"carrying_agency": RATES[0], "helper_agency": RATES[1], "promoter": RATES[2]},
        "budget": {"max_amount": 1_000_000_000_000_i64}}]}));
    let mut m = Model::default();
    let mut answers: Vec<Value> = Vec::new();
    for (step, op) in ops.iter().enumerate() {
        let now = clock.now_ms();
        let at = || format!("step {step} {op:?}");
        match op {
            Op::Commit(lines, helper, p, fee) => {
                let id = format!("o-{}", m.orders.len());
                let mut attribution = json!({"carrying_agency": "ag-1", "promoter": PROMOTERS[*p]});
                if *helper {
                    attribution["helper_agency"] = json!("ag-2");
                }
                let cart = json!({
                    "lines": lines.iter().enumerate().map(|(i, (q, u))| json!({
                        "id": format!("l{i}"), "sku": "tea", "merchant": tenant, "quantity": q, "unit_price": u})).collect::<Vec<_>>(),
                    "buyer": {"id": "b-1"}, "attribution": attribution, "shipping_fee": fee, "now_ms": now});
                let answer = shop.post("/v1/orders", &commit_request(&id, "w", &cart));
                check(answer.status == 201, || {
                    format!("{}: {}", at(), answer.text)
                })?;
                m.commit(id, lines, *helper, PROMOTERS[*p], *fee, now);
            }
            Op::Event(o) => {
                let count = m.orders.len().max(1);
                let Some(order) = m.orders.get_mut(o % count) else {
                    continue;
                };
                let (kind, next) = match order.state {
                    "placed" => ("paid", "paid"),
                    "paid" => ("shipped", "shipped"),
                    "shipped" => ("received", "received"),
                    _ => continue,
                };
                let answer = shop.post(
                    &format!("/v1/orders/{}/events", order.id),
                    &json!({"event_id": kind, "type": kind, "at_ms": now}),
                );
                check(answer.status == 200, || {
                    format!("{}: {}", at(), answer.text)
                })?;
                order.state = next;
                if next == "received" {
                    order.after_sale_end = now + DEFAULT_AFTER_SALE_MS;
                }
            }
            Op::Refund(o, give) => {
                let o = o % m.orders.len().max(1);
                let Some(order) = m.orders.get(o) else {
                    continue;
                };
                let id = order.id.clone();
                let body = refund_body(order, &format!("r-{step}"), *give);
                let want = m.refund(o, *give);
                let answer = shop.post(&format!("/v1/orders/{id}/refunds"), &body);
                check(answer.status == want, || {
                    format!("{}: {} expected {want}", at(), answer.text)
                })?;
                if want == 200 {
                    let again = shop.post(&format!("/v1/orders/{id}/refunds"), &body);
                    check(again.body == answer.body, || {
                        format!("{}: the replay differs", at())
                    })?;
                }
            }
            Op::Advance(ms) => {
                clock.advance(*ms);
                let now = clock.now_ms();
                for o in m.advance(now) {
                    wait_state(&shop, &m.orders[o].id, m.orders[o].state)?;
                }
            }
            Op::Settle => {
                let id = format!("s-{step}");
                let answer = shop.post(
                    "/v1/settlements",
                    &json!({"settlement_id": id, "until_ms": now}),
                );
                check(answer.status == 201, || {
                    format!("{}: {}", at(), answer.text)
                })?;
                m.settle(id.clone(), now);
                let (_, _, want) = m.runs.last().unwrap();
                let got: BTreeMap<String, [i64; 6]> =
                    statement_figures(&shop, &id).into_iter().collect();
                check(&got == want, || {
                    format!("{}: statements {got:?}, model {want:?}", at())
                })?;
                let payout: i64 = want.values().map(|s| s[4]).sum();
                check(answer.body["payout"] == payout, || {
                    format!("{}: {}", at(), answer.text)
                })?;
                answers.push(answer.body);
            }
            Op::Replay => {
                let Some((id, until, _)) = m.runs.last() else {
                    continue;
                };
                let answer = shop.post(
                    "/v1/settlements",
                    &json!({"settlement_id": id, "until_ms": until}),
                );
                check(
                    answer.status == 200 && Some(&answer.body) == answers.last(),
                    || format!("{}: {}", at(), answer.text),
                )?;
            }
        }
        verify(&shop, &m).map_err(|e| TestCaseError::fail(format!("{}: {e}", at())))?;
    }
    Ok(())
}

#[test]
fn settlement_keeps_every_fen_of_every_order_and_beneficiary_against_a_reference_model() {
    let clock = ManualClock::at(T0);
    let server = Server::start_with_clock(|c| c.timer_tick_ms = 5, clock.clone());
    let cases: u32 = std::env::var("SETTLEMENT_MODEL_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::cell::Cell::new(0usize);
    runner
        .run(&prop::collection::vec(op(), 30..80), |ops| {
            case.set(case.get() + 1);
            run_case(&server, &clock, case.get(), &ops)
        })
        .unwrap();
}
