//! 主播券: a template split over livestreamers' live rooms, each with a stock of its own.
//!
//! A claim is made in the buyer's live room: the livestreamer the buyer's stored touches
//! credit by the merchant's attribution model (as an order now would be credited, never
//! the request's say-so), which must be one of the template's. The claim takes one unit of the room's
//! stock and one of the template's in the same transaction, and remembers its room; an
//! order redeems it only when the cart's resolved attribution puts the buyer in that room.
//! The merchant moves a room's unclaimed stock to another room (a new one or not), once
//! per move id.

use super::template_key;
use super::templates::{Template, conflict};
use crate::domain::promoters::PartyKind;
use crate::domain::{Error, Plaza, Principal, Role, check_id};
use crate::store::{Table, TxError, TxExt, key};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most live rooms one template may be split over.
pub const MAX_ROOMS: usize = 50;

/// A livestreamer's share of a template's stock, as defined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLiveRoom {
    /// A registered livestreamer.
    #[schema(schema_with = crate::shape::id_schema)]
    pub livestreamer: String,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub stock: u32,
}

/// A livestreamer's share of a template's stock, with what its room has handed out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LiveRoom {
    pub livestreamer: String,
    pub stock: u32,
    /// Claims made in this room.
    pub issued: u32,
}

impl LiveRoom {
    pub fn left(&self) -> u32 {
        self.stock.saturating_sub(self.issued)
    }
}

/// Move `units` of unclaimed stock from one live room to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStockMove {
    /// The merchant's id for this move: sending it again answers the first.
    #[schema(schema_with = crate::shape::id_schema)]
    pub move_id: String,
    /// A room of the template.
    #[schema(schema_with = crate::shape::id_schema)]
    pub from: String,
    /// A room of the template, or another registered livestreamer (a new room).
    #[schema(schema_with = crate::shape::id_schema)]
    pub to: String,
    #[schema(minimum = 1, maximum = 10_000_000)]
    pub units: u32,
}

/// A move made, with the template's rooms after it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockMove {
    pub move_id: String,
    pub template: String,
    pub from: String,
    pub to: String,
    pub units: u32,
    pub moved_ms: i64,
    /// The template's rooms right after the move.
    pub rooms: Vec<LiveRoom>,
}

fn move_key(owner: &str, template: &str, id: &str) -> Vec<u8> {
    key(&[owner.as_bytes(), template.as_bytes(), id.as_bytes()])
}

fn invalid(field: &str, message: &str) -> Error {
    Error::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

/// Who moves stock: the merchant's admin.
const MOVERS: &[Role] = &[Role::Admin];

impl Plaza {
    /// That `rooms` may be a template's: each a registered livestreamer, once.
    pub(super) fn check_rooms(&self, rooms: &[NewLiveRoom]) -> Result<(), Error> {
        if rooms.len() > MAX_ROOMS {
            return Err(invalid("live_rooms", "at most 50 rooms"));
        }
        for (i, r) in rooms.iter().enumerate() {
            let field = format!("live_rooms[{i}]");
            self.check_livestreamer(&format!("{field}.livestreamer"), &r.livestreamer)?;
            if !(1..=super::templates::MAX_STOCK).contains(&r.stock) {
                return Err(invalid(&format!("{field}.stock"), "must be 1 to 10000000"));
            }
            if rooms[..i].iter().any(|c| c.livestreamer == r.livestreamer) {
                return Err(invalid(&field, "each livestreamer once"));
            }
        }
        Ok(())
    }

    /// That `id` (at `field`) is a registered livestreamer.
    pub(super) fn check_livestreamer(&self, field: &str, id: &str) -> Result<(), Error> {
        check_id(field, id)?;
        let record = self
            .promoter_record(id)?
            .ok_or_else(|| Error::not_found("party", id))?;
        if record.kind != PartyKind::Livestreamer {
            return Err(Error::Unprocessable {
                kind: "not_a_livestreamer",
                field: field.to_owned(),
                message: format!("{id} is not a registered livestreamer"),
            });
        }
        Ok(())
    }

    /// The room of `t`'s that `buyer` is in at `now`: the livestreamer the buyer's touches
    /// credit (as they would credit an order now), when it is one of `t`'s rooms.
    pub(super) fn live_room_of(
        &self,
        t: &Template,
        buyer: &str,
        now: i64,
    ) -> Result<Option<String>, Error> {
        let room = crate::domain::attribution::live_room(self, &t.owner, buyer, now)?;
        Ok(room.filter(|l| t.live_rooms.iter().any(|r| r.livestreamer == *l)))
    }

    /// Move unclaimed stock between two of `template`'s live rooms (the merchant's admin).
    /// The same move again answers the first (`false`); another move under its id is
    /// refused (`move_id_taken`).
    pub async fn move_stock(
        &self,
        who: &Principal,
        template: &str,
        new: NewStockMove,
    ) -> Result<(StockMove, bool), Error> {
        let owner = who.tenant(MOVERS, "move coupon stock")?;
        check_id("template", template)?;
        check_id("move_id", &new.move_id)?;
        check_id("from", &new.from)?;
        if !(1..=super::templates::MAX_STOCK).contains(&new.units) {
            return Err(invalid("units", "must be 1 to 10000000"));
        }
        if new.from == new.to {
            return Err(invalid("to", "must be another room"));
        }
        let t = self.template_of(owner, template)?;
        if t.live_rooms.is_empty() {
            return Err(conflict(
                "no_live_rooms",
                "this coupon is not split over live rooms",
            ));
        }
        if !t.live_rooms.iter().any(|r| r.livestreamer == new.to) {
            self.check_livestreamer("to", &new.to)?;
        }
        let (tkey, mkey) = (
            template_key(owner, template),
            move_key(owner, template, &new.move_id),
        );
        let now = self.now_ms();
        let mut refusal = None;
        let mut answer = None;
        let outcome = self
            .store
            .transact(&[Table::CouponTemplates, Table::CouponMoves], |tx| {
                refusal = None;
                if let Some(m) = tx.get_json::<StockMove>(Table::CouponMoves, &mkey)? {
                    answer = Some((m, false));
                    return Ok(());
                }
                let Some(mut t) = tx.get_json::<Template>(Table::CouponTemplates, &tkey)? else {
                    refusal = Some(Error::not_found("coupon template", template));
                    return Err(TxError::Abort);
                };
                let moved = t.move_stock(&new.from, &new.to, new.units);
                if let Err(e) = moved {
                    refusal = Some(e);
                    return Err(TxError::Abort);
                }
                let m = StockMove {
                    move_id: new.move_id.clone(),
                    template: template.to_owned(),
                    from: new.from.clone(),
                    to: new.to.clone(),
                    units: new.units,
                    moved_ms: now,
                    rooms: t.live_rooms.clone(),
                };
                tx.put_json(Table::CouponTemplates, &tkey, &t)?;
                tx.put_json(Table::CouponMoves, &mkey, &m)?;
                answer = Some((m, true));
                Ok(())
            });
        match (outcome, refusal) {
            (Ok(()), _) => {}
            (Err(TxError::Abort), Some(e)) => return Err(e),
            (Err(e), _) => return Err(Error::from_tx(e)),
        }
        let (m, fresh) =
            answer.ok_or_else(|| Error::Internal("a stock move went missing".into()))?;
        if !fresh {
            let same = m.from == new.from && m.to == new.to && m.units == new.units;
            if !same {
                return Err(conflict("move_id_taken", "another move has this move_id"));
            }
            return Ok((m, false));
        }
        self.flush().await?;
        Ok((m, true))
    }
}

impl Template {
    /// Take one unit of `room`'s stock, or say why not.
    pub(super) fn take_room(&mut self, room: &str) -> Result<(), Error> {
        let r = self
            .live_rooms
            .iter_mut()
            .find(|r| r.livestreamer == room)
            .ok_or_else(|| Error::Internal(format!("room {room} went missing")))?;
        if r.left() == 0 {
            return Err(conflict(
                "room_out_of_stock",
                &format!("every unit of this coupon in {room}'s live room is taken"),
            ));
        }
        r.issued += 1;
        Ok(())
    }

    /// Move `units` of `from`'s unclaimed stock to `to`; on a refusal nothing changed.
    fn move_stock(&mut self, from: &str, to: &str, units: u32) -> Result<(), Error> {
        let room = |id: &str| self.live_rooms.iter().position(|r| r.livestreamer == id);
        let source = room(from).ok_or_else(|| Error::not_found("live room", from))?;
        let left = self.live_rooms[source].left();
        if left < units {
            return Err(conflict(
                "not_enough_stock",
                &format!("{from}'s room has {left} unclaimed units"),
            ));
        }
        let target = match room(to) {
            Some(i) => i,
            None if self.live_rooms.len() >= MAX_ROOMS => {
                return Err(invalid("to", "at most 50 rooms"));
            }
            None => {
                self.live_rooms.push(LiveRoom {
                    livestreamer: to.to_owned(),
                    stock: 0,
                    issued: 0,
                });
                self.live_rooms.len() - 1
            }
        };
        // The rooms' stocks sum to at most 50 × MAX_STOCK, which a u32 holds, and a move
        // keeps the sum.
        self.live_rooms[source].stock -= units;
        self.live_rooms[target].stock += units;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rooms(t: &Template) -> Vec<(String, u32, u32)> {
        t.live_rooms
            .iter()
            .map(|r| (r.livestreamer.clone(), r.stock, r.issued))
            .collect()
    }

    fn template() -> Template {
        let json = serde_json::json!({
            "owner": "m", "id": "t", "name": "t", "plan": "p", "step": "s", "code": "C",
            "stock": 100, "per_buyer": 1, "validity": {"days_from_claim": {"days": 1}},
            "bindings": {}, "on_refund": "return", "issued": 0, "claimed": 0,
            "created_ms": 0,
            "live_rooms": [
                {"livestreamer": "a", "stock": 60, "issued": 0},
                {"livestreamer": "b", "stock": 40, "issued": 0}
            ]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn only_unclaimed_stock_moves_and_a_new_room_can_receive_it() {
        let mut t = template();
        for _ in 0..50 {
            t.take_room("a").unwrap();
        }
        assert!(t.move_stock("a", "b", 11).is_err(), "10 unclaimed in a");
        assert_eq!(rooms(&t)[0], ("a".into(), 60, 50), "nothing moved");
        t.move_stock("a", "b", 10).unwrap();
        assert!(t.take_room("a").is_err(), "a is out");
        t.move_stock("b", "c", 5).unwrap();
        assert_eq!(
            rooms(&t),
            vec![
                ("a".into(), 50, 50),
                ("b".into(), 45, 0),
                ("c".into(), 5, 0)
            ]
        );
        assert!(t.move_stock("z", "a", 1).is_err(), "no room z");
    }
}
