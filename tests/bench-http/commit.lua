-- wrk: commit orders with unique ids, all reserving from one budgeted step.
-- KEY and CART come from the environment (see run.sh).
local f = assert(io.open(os.getenv("CART"), "r"))
local cart = f:read("*a")
f:close()
local key = os.getenv("KEY")
local plan = os.getenv("PLAN") or "flash"
local counter = 0
local threads = 0

-- Runs in the main state; `thread_id` becomes a global of each thread's own state.
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function request()
  counter = counter + 1
  local body = string.format('{"order_id":"bench-%s-%d-%d-%d","plan":"%s","cart":%s}',
    plan, os.time(), thread_id or 0, counter, plan, cart)
  return wrk.format("POST", "/v1/orders",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end

local unexpected = 0

function response(status, headers, body)
  if status ~= 201 then
    unexpected = unexpected + 1
    if unexpected == 1 then
      io.stderr:write("commit answered " .. status .. ": " .. body:sub(1, 200) .. "\n")
    end
  end
end
