-- Replays prepared requests from a file, one line each: METHOD \t PATH \t AUTHORIZATION \t BODY.
-- Each wrk thread takes every n-th line (its own slice), so a single-use request is never sent
-- twice. A thread that runs out of lines asks for /__exhausted__ instead, which answers 404:
-- the run then shows non-2xx answers rather than counting replays as work.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  local nthreads = tonumber(args[2])
  local repeatable = args[3] == "repeat"
  reqs = {}
  local i = 0
  for line in file:lines() do
    if i % nthreads == tid then
      local method, path, auth, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {["Content-Type"] = "application/json"}
      if auth ~= "" then headers["Authorization"] = auth end
      if body == "" then body = nil end
      table.insert(reqs, wrk.format(method, path, headers, body))
    end
    i = i + 1
  end
  file:close()
  exhausted = wrk.format("GET", "/__exhausted__")
  cycle = repeatable
  n = 0
end

function request()
  n = n + 1
  if n > #reqs and not cycle then
    return exhausted
  end
  return reqs[(n - 1) % #reqs + 1]
end
