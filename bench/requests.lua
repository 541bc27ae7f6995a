-- Replay requests prepared by the harness: one per line, "METHOD<TAB>PATH<TAB>SIGNATURE<TAB>BODY".
-- wrk args after "--": the file and the thread count T. Thread n takes lines n, n+T, n+2T…, so no two
-- threads send the same request; a thread that runs out starts over and counts a wrap.
-- done() prints one line, "BENCH_RESULT {json}", for the harness to read.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  local path, thread_count = args[1], tonumber(args[2])
  prepared = {}
  local lines = {}
  for line in io.lines(path) do
    lines[#lines + 1] = line
  end
  -- A file shorter than the thread count (one fixed GET) is shared whole.
  local step, first = thread_count, thread_number
  if #lines < thread_count then
    step, first = 1, 1
  end
  for index = first, #lines, step do
    local method, target, signature, body = lines[index]:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    if method == "POST" then
      headers["Content-Type"] = "application/x-www-form-urlencoded"
      headers["X-Twilio-Signature"] = signature
    end
    prepared[#prepared + 1] = wrk.format(method, target, headers, body ~= "" and body or nil)
  end
  position = 0
  wraps = 0
  bad = {}
end

function request()
  position = position + 1
  if position > #prepared then
    position = 1
    wraps = wraps + 1
  end
  return prepared[position]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    bad[status] = (bad[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local wrapped, non_2xx, by_status, statuses = 0, 0, {}, {}
  for _, thread in ipairs(threads) do
    wrapped = wrapped + (thread:get("wraps") or 0)
    for status, count in pairs(thread:get("bad") or {}) do
      non_2xx = non_2xx + count
      by_status[status] = (by_status[status] or 0) + count
    end
  end
  for status, count in pairs(by_status) do
    statuses[#statuses + 1] = string.format('"%d": %d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non_2xx": %d, '
      .. '"socket_errors": %d, "wraps": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), non_2xx,
    errors.connect + errors.read + errors.write + errors.timeout, wrapped, table.concat(statuses, ", ")
  ))
end
