-- Every product page once, in order: GET /api/v1/products/{slug} for each slug in the file
-- named by SLUGS, split between wrk's threads; a thread stops when its share is done.
-- Run on a fresh server it measures pages that are not yet cached; before a measured run
-- it warms the cache with every page.
-- (PREFIX replaces the path before the slug: /products/ for the storefront's HTML page.)
local threads = {}
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local all = {}
  for line in io.lines(os.getenv("SLUGS")) do
    all[#all + 1] = line
  end
  local count = tonumber(os.getenv("WRK_THREADS") or "2")
  slugs = {}
  for i = index + 1, #all, count do
    slugs[#slugs + 1] = all[i]
  end
  next_slug = 0
end

function request()
  next_slug = next_slug + 1
  if next_slug > #slugs then
    wrk.thread:stop()
    next_slug = 1
  end
  return wrk.format("GET", (os.getenv("PREFIX") or "/api/v1/products/") .. slugs[next_slug])
end
