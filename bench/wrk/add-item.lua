-- POST /api/v1/carts/{id}/items on existing guest carts. CARTS names a file of
-- "<cart id> <token> <variant id>" lines; each wrk thread owns a share and uses them
-- round-robin (many more carts than connections, so requests rarely share a cart).
local file = os.getenv("CARTS")
local threads, nthreads = {}, 0

function setup(thread)
  thread:set("tid", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

function init(args)
  n = 0; mine = {}
  local nt = tonumber(os.getenv("WRK_THREADS") or "2")
  local i = 0
  for line in io.lines(file) do
    if #line > 0 then
      if i % nt == tid then table.insert(mine, line) end
      i = i + 1
    end
  end
end

function request()
  n = n + 1
  local id, token, variant = mine[n % #mine + 1]:match("(%S+) (%S+) (%S+)")
  local headers = { ["Content-Type"] = "application/json", ["X-Cart-Token"] = token }
  return wrk.format("POST", "/api/v1/carts/" .. id .. "/items", headers,
    '{"variant_id":"' .. variant .. '","quantity":1}')
end
