//! Contract `plaza:rules@0.2.0` on the wire: how a cart, a step and an answer travel
//! between the host and a plugin.
//!
//! A 0.2 plugin is one core WebAssembly module with **no imports**. It exports:
//!
//! | export | type | what |
//! | --- | --- | --- |
//! | `memory` | memory | the plugin's linear memory |
//! | `plaza_rules_0_2` | `func()` | marks the contract version; never called |
//! | `plaza_alloc` | `func(len: i32) -> i32` | room for `len` input bytes, 8-aligned |
//! | `plaza_describe` | `func() -> i64` | the [`Descriptor`](crate::Descriptor) |
//! | `plaza_validate` | `func(ptr: i32, len: i32) -> i64` | check a configuration |
//! | `plaza_evaluate` | `func(cart: i32, cart_len: i32, step: i32, step_len: i32) -> i64` | propose effects |
//! | `plaza_log` | global `i32` | address of the log buffer |
//!
//! An answer (`i64`) packs where its bytes are: the low 32 bits are the address, the high
//! 32 bits the length. A descriptor is JSON; a validation answers JSON `{"Ok":null}` or
//! `{"Err":"…"}` (both are rare: at upload and when a plan is saved). An evaluation, the
//! call on every quote, answers in the binary layout below ([`encode_answer`],
//! [`decode_answer`]).
//!
//! The log buffer is `u32 len, u32 truncated, [u8; LOG_CAPACITY]` in the plugin's memory.
//! The host reads it after every call, after a trap too, so a panic's message (which
//! the SDK's panic hook writes there) reaches the explanation.
//!
//! ## Why this shape
//!
//! The cost of calling a rule is set by what happens per call, so the input is two byte
//! buffers the host writes with one copy each, and a core module instantiates as one
//! instance. Contract 0.1 (a component, kept loadable by the host) lowered the cart field
//! by field (each line record, each list a call into the plugin's allocator) and its `log`
//! import made every instance three core instances; BENCHMARKS.md has both measured.
//! The answer is bytes too. A first cut answered JSON (serde_json on both sides): with
//! one effect per line (commission, member price) serializing it inside the plugin and
//! parsing it on the host was most of an evaluation's cost, more than the rule itself
//! (BENCHMARKS.md has the profile). Fixed-size records and one text region cost a copy
//! per string.
//!
//! ## The cart (encoded once per quote)
//!
//! Little-endian throughout. A *span* is `(u32 start, u32 len)`: bytes of the text
//! region; an absent optional string has `start = 0xFFFF_FFFF`. A *list* is
//! `(u32 start, u32 len)`: entries of the span table.
//!
//! | offset | field |
//! | ---: | --- |
//! | 0 | magic `PZC2` |
//! | 4 | `u32` line count *n* |
//! | 8 | `u32` span table entries *k* |
//! | 12 | `u32` text bytes *t* |
//! | 16 | `i64` `now_ms` |
//! | 24 | `u8` channel (index in [`Channel::ALL`](crate::Channel::ALL)), `u8` gift, `u8` new customer, `u16` gift recipients, 3 bytes zero |
//! | 32 | span buyer id, span member tier (optional), list buyer tags, list coupon codes |
//! | 64 | 7 optional spans: promoter, promoter agency, creator, livestreamer, carrying agency, helper agency, share link |
//! | 120 | `i64` the buyer's usable points with the merchant |
//! | 128 | *n* line records of 64 bytes: spans id, sku, spu, merchant; lists categories, tags; `u32` quantity, `u32` zero, `i64` unit price |
//! | 128 + 64*n* | span table: *k* spans |
//! | … + 8*k* | text: *t* bytes of UTF-8 |
//!
//! ## The step (encoded per step)
//!
//! | offset | field |
//! | ---: | --- |
//! | 0 | magic `PZS2` |
//! | 4 | `u32` visible lines *m* |
//! | 8 | `u32` configuration bytes *c* |
//! | 12 | `u8` threshold base (0 original, 1 current), 3 bytes zero |
//! | 16 | `i64` shipping, `i64` order total |
//! | 32 | *m* × `u32`: the cart lines the step sees, by index, zero-padded to a multiple of 8 |
//! | … | *m* × `i64`: their payable amounts |
//! | … | *c* bytes: the configuration, JSON |
//!
//! ## The answer (one per evaluation)
//!
//! | offset | field |
//! | ---: | --- |
//! | 0 | magic `PZA2` |
//! | 4 | `u8` status (0 effects, 1 the rule's error: the whole text is its message), 3 bytes zero |
//! | 8 | `u32` effects *n*, `u32` list entries *k*, `u32` text bytes *t*, `u32` zero |
//! | 24 | *n* effect records of 48 bytes |
//! | 24 + 48*n* | *k* × `u32` (the lines of order adjustments), zero-padded to a multiple of 8 |
//! | … | text: *t* bytes of UTF-8 |
//!
//! An effect record: `u8` kind (0 line adjustment, 1 order adjustment, 2 shipping
//! adjustment, 3 commission, 4 gift, 5 note, 6 points deduction); for a commission `u8` payer, `u8` payer's
//! upline level, `u8` payee, `u8` payee's upline level (a party is its index in
//! Merchant, CarryingAgency, HelperAgency, Creator, PromoterAgency, Promoter,
//! Livestreamer; 7 is an upline) and `u8` share kind (0 amount, 1 rate); zeros to 8;
//! at 8 `u32` line (quantity for a gift), zeros to 16; at 16 `i64` amount (discount,
//! share, gift value, points); at 24 span label (the text of a note); at 32 span coupon
//! (optional), beneficiary or gift sku; at 40 list of lines (an order adjustment's).
//!
//! The whole buffer is exactly as long as its counts say. The reader checks every count,
//! span and index against the buffer before it uses it (the span table's entries all at
//! once, so that lists reach the rule as lazy [`Texts`](crate::Texts)): hostile bytes give an error,
//! never an out-of-bounds read, a panic or a long loop.

mod answer;
mod cart;
mod read;
mod step;
#[cfg(test)]
mod tests;

pub use answer::{decode_answer, encode_answer};
pub use cart::{CartEncoder, CartFields, LineFields};
pub use read::read;
pub use step::{StepFields, encode_step};

/// Opens an encoded cart.
pub const CART_MAGIC: [u8; 4] = *b"PZC2";
/// Opens an encoded step.
pub const STEP_MAGIC: [u8; 4] = *b"PZS2";
/// The cart header's size.
pub const CART_HEADER: usize = 128;
/// One line record's size.
pub const LINE_RECORD: usize = 64;
/// The step header's size.
pub const STEP_HEADER: usize = 32;
/// Opens an encoded answer.
pub const ANSWER_MAGIC: [u8; 4] = *b"PZA2";
/// The answer header's size.
pub const ANSWER_HEADER: usize = 24;
/// One effect record's size.
pub const EFFECT_RECORD: usize = 48;
/// The start of an absent optional span.
pub const ABSENT: u32 = u32::MAX;
/// Bytes of log a plugin's buffer holds; the host keeps at most its own limit of them.
pub const LOG_CAPACITY: usize = 4096;
/// The log buffer's header: `u32 len, u32 truncated`.
pub const LOG_HEADER: usize = 8;

/// Why encoded bytes could not be read. The host never sends such bytes; a reader that
/// meets them refuses instead of guessing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError(pub &'static str);

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "malformed contract input: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// Pack an answer's address and length into the `i64` an export returns.
pub fn pack(ptr: u32, len: u32) -> i64 {
    (u64::from(ptr) | (u64::from(len) << 32)) as i64
}

/// Unpack an export's `i64` answer into address and length.
pub fn unpack(answer: i64) -> (u32, u32) {
    let bits = answer as u64;
    (bits as u32, (bits >> 32) as u32)
}
