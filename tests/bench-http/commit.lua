-- wrk: commit orders with unique ids, all reserving from one budgeted step.
-- KEY and CART come from the environment (see run.sh).
local f = assert(io.open(os.getenv("CART"), "r"))
local cart = f:read("*a")
f:close()
local key = os.getenv("KEY")
local counter = 0
local thread_id = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function request()
  counter = counter + 1
  local body = string.format('{"order_id":"bench-%d-%d-%d","plan":"flash","cart":%s}',
    os.time(), thread_id, counter, cart)
  return wrk.format("POST", "/v1/orders",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status ~= 201 then
    io.stderr:write("commit answered " .. status .. ": " .. body .. "\n")
  end
end
