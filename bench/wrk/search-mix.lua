-- Varied searches so that the node's result cache rarely helps: a random adjective and
-- noun from the demo catalog, often with a typo, with random filters and pages.
local adjectives = {"classic", "slim", "relaxed", "vintage", "everyday", "organic", "premium", "light", "warm", "urban"}
local nouns = {"shirt", "jacket", "sweater", "hoodie", "jeans", "dress", "scarf", "sneaker", "backpack", "watch"}
local colors = {"red", "blue", "black", "white", "green", "grey", "navy", "beige"}
local categories = {"men", "women", "accessories", "jackets", "shirts", "dresses"}

local function typo(word)
  if #word < 5 or math.random() < 0.5 then return word end
  local i = math.random(2, #word - 1)
  return word:sub(1, i - 1) .. word:sub(i + 1)
end

request = function()
  local q = typo(adjectives[math.random(#adjectives)])
  if math.random() < 0.7 then q = q .. "%20" .. typo(nouns[math.random(#nouns)]) end
  if math.random() < 0.3 then q = colors[math.random(#colors)] .. "%20" .. q end
  local path = "/api/v1/search?q=" .. q .. "&offset=" .. (20 * math.random(0, 20))
  if math.random() < 0.5 then path = path .. "&category=" .. categories[math.random(#categories)] end
  if math.random() < 0.5 then path = path .. "&price_max=" .. (1000 * math.random(2, 10)) end
  if math.random() < 0.3 then path = path .. "&attr.size=" .. (math.random() < 0.5 and "s" or "m") end
  return wrk.format("GET", path)
end
