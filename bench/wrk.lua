-- wrk script for run.mjs: cycles through the requests in TOKENS_FILE (one per line) from index
-- TOKENS_START on and prints the figures run.mjs reads as one JSON line. A line is a token (sent
-- as `Authorization: Bearer <token>`) or a token, a tab and a DPoP proof (sent as
-- `Authorization: DPoP <token>` with `DPoP: <proof>`).
local headers = {}
local n, i = 0, 0

function init(args)
  for line in io.lines(os.getenv("TOKENS_FILE")) do
    n = n + 1
    local tab = string.find(line, "\t", 1, true)
    if tab then
      headers[n] = { ["Authorization"] = "DPoP " .. string.sub(line, 1, tab - 1), ["DPoP"] = string.sub(line, tab + 1) }
    else
      headers[n] = { ["Authorization"] = "Bearer " .. line }
    end
  end
  i = tonumber(os.getenv("TOKENS_START") or "0") % n
end

function request()
  i = i % n + 1
  return wrk.format("GET", nil, headers[i])
end

-- errors.status counts answers with a status over 399: every non-2xx answer here (the bench
-- servers never redirect), as autocannon's non2xx does.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"p99_us":%d,"non2xx":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
