-- wrk script for the latency test: every connection waits PACE_MS between its requests, so the offered load is
-- about connections x 1000 / PACE_MS req/s whatever the configuration (wrk has no open-loop mode and wrk2 is not
-- packaged in Debian). wrk's latency statistics leave the wait out.
local pace = tonumber(os.getenv("PACE_MS") or "4")
function delay()
  return pace
end
