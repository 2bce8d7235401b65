"""The demo flow through a client generated from Plaza's OpenAPI document, unedited.

As a new integrator would: the operator creates a merchant and its key; an agency invites
a promoter, who accepts with its token; the merchant's checkout records that the demo buyer
opened the demo cart's promoter's link; the merchant uploads the example plugins, saves and
activates the demo plan, quotes the demo cart (its promoter confirmed by that touch),
commits it at the quoted price, refunds a line and reads the ledger. Every step goes
through the generated `plaza_client` package; every answer is checked.

Usage: demo_flow.py BASE_URL OPERATOR_KEY COMPONENTS_DIR DEMO_DIR
"""

import json
import pathlib
import sys

from plaza_client import AuthenticatedClient, Client
from plaza_client.api.attribution import record_touch
from plaza_client.api.promoters import accept_invite, invite_promoter
from plaza_client.api.orders import commit_order, list_order_ledger, refund_order
from plaza_client.api.plans import activate_plan, list_plan_versions, save_plan
from plaza_client.api.plugins import list_plugins, upload_plugin
from plaza_client.api.quote import quote
from plaza_client.api.tenants import create_key, create_tenant
from plaza_client.models import (
    AcceptInvite,
    ActivateRequest,
    Cart,
    CommitRequest,
    NewKey,
    NewPromoter,
    NewTenant,
    NewTouch,
    PartyKind,
    Plan,
    RefundLineRequest,
    RefundRequest,
    Role,
    TenantKind,
)
from plaza_client.types import File

PLUGINS = ["member-price", "threshold-discount", "store-coupon", "free-shipping", "promoter-commission"]


def expect(response, status):
    assert response.status_code == status, f"{response.status_code}: {response.content!r}"
    return response.parsed


def main(base, operator_key, components, demo):
    operator = AuthenticatedClient(base_url=base, token=operator_key)
    tenant = expect(
        create_tenant.sync_detailed(
            client=operator,
            body=NewTenant(id="teahouse", name="Teahouse", kind=TenantKind.MERCHANT),
        ),
        201,
    )
    assert tenant.id == "teahouse"
    issued = expect(
        create_key.sync_detailed(
            "teahouse", client=operator, body=NewKey(role=Role.ADMIN, name="integration")
        ),
        201,
    )
    shop = AuthenticatedClient(base_url=base, token=issued.key)

    expect(
        create_tenant.sync_detailed(
            client=operator,
            body=NewTenant(id="partners", name="Partners", kind=TenantKind.AGENCY),
        ),
        201,
    )
    agency_key = expect(
        create_key.sync_detailed("partners", client=operator, body=NewKey(role=Role.ADMIN)),
        201,
    ).key
    agency = AuthenticatedClient(base_url=base, token=agency_key)
    invited = expect(
        invite_promoter.sync_detailed(
            client=agency,
            body=NewPromoter(id="p-1001", kind=PartyKind.PROMOTER, name="Lin"),
        ),
        201,
    )
    accepted = expect(
        accept_invite.sync_detailed(
            "p-1001",
            client=Client(base_url=base),
            body=AcceptInvite(invite_token=invited.invite_token),
        ),
        201,
    )
    assert accepted.promoter.state.value == "active" and accepted.key, accepted

    for name in PLUGINS:
        wasm = (pathlib.Path(components) / f"{name}.wasm").read_bytes()
        record = expect(upload_plugin.sync_detailed(client=shop, body=File(payload=wasm)), 201)
        assert record.name == name, record
    listed = expect(list_plugins.sync_detailed(client=shop, limit=2), 200)
    assert len(listed.items) == 2 and listed.next_

    plan = Plan.from_dict(json.loads((pathlib.Path(demo) / "plan.json").read_text()))
    head = expect(
        save_plan.sync_detailed(client=shop, body=plan, idempotency_key="save-1", if_match='"0"'),
        201,
    )
    assert head.latest == 1
    again = expect(
        save_plan.sync_detailed(client=shop, body=plan, idempotency_key="save-1", if_match='"0"'),
        200,
    )
    assert again.latest == 1, "a retried save saves nothing"
    stale = save_plan.sync_detailed(client=shop, body=plan, if_match='"0"')
    assert stale.status_code == 412, stale.status_code
    head = expect(
        activate_plan.sync_detailed(plan.id, client=shop, body=ActivateRequest(version=1)), 200
    )
    assert head.active == 1
    versions = expect(list_plan_versions.sync_detailed(plan.id, client=shop), 200)
    assert [v.version for v in versions.items][0] == 1

    cart = Cart.from_dict(json.loads((pathlib.Path(demo) / "cart.json").read_text()))
    # The demo cart's promoter (the one the agency just enlisted) shared the link the
    # demo buyer opened a day before the cart's time.
    expect(
        record_touch.sync_detailed(
            client=shop,
            body=NewTouch(
                touch_id="t-1",
                buyer=cart.buyer.id,
                promoter=cart.attribution.promoter,
                at_ms=cart.now_ms - 86_400_000,
                share_link=cart.attribution.share_link,
            ),
        ),
        201,
    )
    priced = expect(quote.sync_detailed(plan.id, client=shop, body=cart), 200)
    assert priced.total.payable == 58475, priced.total
    assert priced.attribution.touch == "t-1", priced.attribution
    claims = {c.field: c.outcome.value for c in priced.attribution.claims}
    assert claims["promoter"] == "confirmed", claims
    steps = [s.step for s in priced.explanation]
    assert steps and all(s.outcome.value == "applied" for s in priced.explanation), steps

    order = expect(
        commit_order.sync_detailed(
            client=shop,
            body=CommitRequest(
                order_id="order-1", plan=plan.id, cart=cart, expected_payable=priced.total.payable
            ),
        ),
        201,
    )
    assert order.id == "order-1"
    first_line = order.lines[0].id
    refunded = expect(
        refund_order.sync_detailed(
            "order-1",
            client=shop,
            body=RefundRequest(refund_id="r-1", lines=[RefundLineRequest(line=first_line)]),
        ),
        200,
    )
    assert refunded.status.value == "partially_refunded", refunded.status

    entries = []
    after = None
    while True:
        page = expect(
            list_order_ledger.sync_detailed("order-1", client=shop, limit=3, after=after), 200
        )
        entries.extend(page.items)
        if not page.next_:
            break
        after = page.next_
    money = sum(e.amount for e in entries if not e.kind.value.startswith("commission"))
    refund = next(r for r in refunded.refunds if r.id == "r-1")
    assert money == 58475 - refund.amount, (money, refund.amount)
    print(f"demo flow through the generated client: {len(entries)} ledger entries, "
          f"paid 58475, refunded {refund.amount}")


if __name__ == "__main__":
    main(*sys.argv[1:5])
