-- wrk script: POST single request bodies to the target. See common.lua for the environment.
-- Example: BODY_FILE=large.json wrk -t1 -c64 -d20s --latency -s bench/wrk/post_single.lua http://127.0.0.1:8080/v1/metadata
local dir = (os.getenv("WRK_LUA_DIR") or debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".")
dofile(dir .. "/common.lua")
