//! Encoding a step's input (the host does this once per step).

use super::{STEP_HEADER, STEP_MAGIC};
use crate::ThresholdBase;

/// One step's view of the pipeline.
#[derive(Clone, Copy, Debug)]
pub struct StepFields<'a> {
    /// The cart lines the step sees, by index into the encoded cart, ascending.
    pub visible: &'a [u32],
    /// Their current payable amounts, in the same order.
    pub payable: &'a [i64],
    /// The current shipping fee.
    pub shipping: i64,
    /// The visible lines' payable plus shipping.
    pub order_total: i64,
    /// What thresholds are judged on.
    pub threshold_base: ThresholdBase,
    /// The step's configuration, JSON.
    pub config: &'a str,
}

/// Encode `step` into `out` (cleared first, so a caller can reuse one buffer).
///
/// # Panics
/// When `visible` and `payable` differ in length, or a length passes `u32`.
pub fn encode_step(step: &StepFields<'_>, out: &mut Vec<u8>) {
    assert_eq!(
        step.visible.len(),
        step.payable.len(),
        "one payable per line"
    );
    let m = u32::try_from(step.visible.len()).expect("lines fit u32");
    let c = u32::try_from(step.config.len()).expect("a configuration under 4 GiB");
    out.clear();
    out.reserve(STEP_HEADER + 12 * step.visible.len() + 8 + step.config.len());
    out.extend_from_slice(&STEP_MAGIC);
    out.extend_from_slice(&m.to_le_bytes());
    out.extend_from_slice(&c.to_le_bytes());
    out.push(match step.threshold_base {
        ThresholdBase::Original => 0,
        ThresholdBase::Current => 1,
    });
    out.extend_from_slice(&[0; 3]);
    out.extend_from_slice(&step.shipping.to_le_bytes());
    out.extend_from_slice(&step.order_total.to_le_bytes());
    for index in step.visible {
        out.extend_from_slice(&index.to_le_bytes());
    }
    if step.visible.len() % 2 == 1 {
        out.extend_from_slice(&[0; 4]);
    }
    for amount in step.payable {
        out.extend_from_slice(&amount.to_le_bytes());
    }
    out.extend_from_slice(step.config.as_bytes());
}
