-- wrk script: POST batch request bodies to the target. See common.lua for the environment.
-- Example: BODY_FILE=batch_small.json wrk -t1 -c64 -d20s --latency -s bench/wrk/post_batch.lua http://127.0.0.1:8080/v1/metadata:batch
local dir = (os.getenv("WRK_LUA_DIR") or debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or ".")
dofile(dir .. "/common.lua")
