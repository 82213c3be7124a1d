-- GET /api/v1/products/{slug} for a random slug from bench/results/raw/slugs.txt
-- (path given in the SLUGS environment variable).
-- (PREFIX replaces the path before the slug: /products/ for the storefront's HTML page.)
local slugs = {}
local path = os.getenv("SLUGS")
for line in io.lines(path) do
  slugs[#slugs + 1] = line
end
math.randomseed(os.time())

request = function()
  return wrk.format("GET", (os.getenv("PREFIX") or "/api/v1/products/") .. slugs[math.random(#slugs)])
end
