-- wrk: POST the demo cart to the demo plan's quote endpoint.
-- KEY and CART come from the environment (see run.sh).
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("CART"), "r"))
wrk.body = f:read("*a")
f:close()
