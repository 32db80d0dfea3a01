-- The request wrk sends for scripts/bench.sh, and one result line when it is done.
--   BENCH_METHOD     GET (default) or POST
--   BENCH_BODY       a form body (sent as application/x-www-form-urlencoded)
--   BENCH_AUTH_FILE  a file holding one line "Authorization: Bearer …", so the token is
--                    never in wrk's argv
-- The last line printed is
--   result REQUESTS SECONDS NON_2XX_3XX SOCKET_ERRORS P50_US P99_US MAX_US OVER_1S
-- where OVER_1S counts the requests that took more than a second.

wrk.method = os.getenv("BENCH_METHOD") or "GET"

local body = os.getenv("BENCH_BODY")
if body then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

local auth_file = os.getenv("BENCH_AUTH_FILE")
if auth_file then
  local file = assert(io.open(auth_file, "r"))
  local line = file:read("*l") or ""
  file:close()
  wrk.headers["Authorization"] = assert(line:match("^Authorization: (.+)$"), "no Authorization line")
end

done = function(summary, latency, requests)
  local over = 0
  for i = 1, #latency do
    local value, count = latency(i)
    if value > 1000000 then
      over = over + count
    end
  end
  local e = summary.errors
  io.write(string.format("result %d %.3f %d %d %d %d %d %d\n",
    summary.requests, summary.duration / 1000000, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, over))
end
