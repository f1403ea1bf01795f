-- Replays prepared requests from a file, one line each: METHOD \t PATH \t AUTHORIZATION \t BODY.
-- Each wrk thread takes every n-th line (its own slice), so a single-use token is never sent
-- twice; a thread that runs out of lines starts its slice again (those answers count as errors).
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
  n = 0
end

function request()
  n = n + 1
  return reqs[(n - 1) % #reqs + 1]
end
