"""schemathesis hooks for Plaza: the one cart rule JSON Schema cannot state.

A cart's line ids must differ from each other (a refund names a line by its id); JSON
Schema's `uniqueItems` compares whole items, not one field, so generated carts that repeat
a line id are left out of the positive phases rather than counted as refusals.
"""

import schemathesis


def _cart(body):
    if not isinstance(body, dict):
        return None
    return body.get("cart", body)


def _distinct_line_ids(body):
    cart = _cart(body)
    if not isinstance(cart, dict) or not isinstance(cart.get("lines"), list):
        return True
    ids = [line.get("id") for line in cart["lines"] if isinstance(line, dict)]
    return len(ids) == len(set(map(repr, ids)))


CARTS = {"/v1/plans/{plan}/quote", "/v1/orders"}


@schemathesis.hook("filter_body")
def distinct_line_ids(ctx, body):
    if ctx.operation is None or ctx.operation.path not in CARTS:
        return True
    return _distinct_line_ids(body)


# A plugin upload is the component's bytes.
schemathesis.serializer.alias("application/wasm", "application/octet-stream")
