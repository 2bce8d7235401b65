//! Beneficiaries' own keys: a promoter, creator or agency that earns commission reads its
//! balance and statements across every merchant it earns from, with a key of its own that
//! the operator issues. Such a key reads only its own beneficiary's records and does
//! nothing else.

use super::idempotency::{IdempotencyKey, Replay};
use super::tenants::new_secret;
use super::{Error, Plaza, Principal, check_id};
use crate::store::{Table, TxExt};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stored beneficiary key: never the key itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BeneficiaryKey {
    /// The first 12 hex digits of the key's hash.
    pub id: String,
    pub beneficiary: String,
    pub name: String,
    pub created_ms: i64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBeneficiaryKey {
    /// A label for people, at most 128 characters.
    #[serde(default)]
    #[schema(schema_with = crate::shape::label_schema)]
    pub name: String,
}

/// A freshly issued beneficiary key: the only time the secret is shown.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IssuedBeneficiaryKey {
    /// The secret, shown once; absent when this answers a retry (same Idempotency-Key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(flatten)]
    pub record: BeneficiaryKey,
}

impl Plaza {
    /// Issue a key for `beneficiary` (the operator's). With an idempotency key, a retry
    /// issues no second key and answers the first one's record without its secret.
    pub async fn create_beneficiary_key(
        &self,
        who: &Principal,
        beneficiary: &str,
        new: NewBeneficiaryKey,
        idempotency: Option<IdempotencyKey>,
    ) -> Result<(IssuedBeneficiaryKey, bool), Error> {
        who.operator("issue beneficiary keys")?;
        check_id("beneficiary", beneficiary)?;
        if !crate::shape::is_label(&new.name) {
            return Err(Error::Invalid {
                field: "name".into(),
                message: format!(
                    "must be at most {} characters",
                    crate::shape::MAX_TEXT_CHARS
                ),
            });
        }
        let replay = Replay::new(beneficiary, "beneficiary_keys.create", idempotency, &new);
        let answer = |record| IssuedBeneficiaryKey { key: None, record };
        if let Some(record) = self.replayed::<BeneficiaryKey>(&replay).await? {
            return Ok((answer(record), false));
        }
        let (key, hash) = new_secret()?;
        let record = BeneficiaryKey {
            id: hex::encode(&hash[..6]),
            beneficiary: beneficiary.to_owned(),
            name: new.name,
            created_ms: self.now_ms(),
        };
        let mut first = None;
        self.store
            .transact(&[Table::BeneficiaryKeys, Table::Idempotency], |tx| {
                first = replay.earlier(tx)?;
                if first.is_some() {
                    return Ok(());
                }
                tx.put_json(Table::BeneficiaryKeys, &hash, &record)?;
                replay.record(tx, &record)
            })
            .map_err(Error::from_tx)?;
        if first.is_some() {
            let earlier = self.replayed::<BeneficiaryKey>(&replay).await?;
            let record = earlier.expect("the earlier request's answer is stored");
            return Ok((answer(record), false));
        }
        self.flush().await?;
        Ok((
            IssuedBeneficiaryKey {
                key: Some(key),
                record,
            },
            true,
        ))
    }
}
