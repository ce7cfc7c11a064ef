#!/usr/bin/env python3
"""Crude S3-server comparison used for scripts/services/README.md (not part of the tests).

  s3-measure.py -- <server argv with {port} and {dir}>
Starts the server on a free loopback port, times until an S3 ListBuckets succeeds, then PUTs
N small (64 KiB) and M large (4 MiB) objects sequentially with boto3 and prints the rates.
Needs boto3 (the moto venv has it). Stops the server before exiting.
"""
import os, shutil, socket, subprocess, sys, tempfile, time
import boto3
from botocore.config import Config

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

argv = sys.argv[sys.argv.index("--") + 1:]
port, data = free_port(), tempfile.mkdtemp(prefix="s3m-")
argv = [a.replace("{port}", str(port)).replace("{dir}", data) for a in argv]
env = dict(os.environ, MINIO_ROOT_USER="ca4test", MINIO_ROOT_PASSWORD="ca4testsecret")
log = open(os.path.join(data, "server.log"), "w")
t0 = time.monotonic()
proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="ca4test", aws_secret_access_key="ca4testsecret",
                  config=Config(retries={"max_attempts": 0}, connect_timeout=1))
try:
    while True:
        try:
            s3.list_buckets(); break
        except Exception:
            if time.monotonic() - t0 > 60 or proc.poll() is not None:
                sys.exit("server did not become ready; see " + log.name)
            time.sleep(0.05)
    ready = time.monotonic() - t0
    s3.create_bucket(Bucket="bench")
    for label, size, n in (("64KiB", 64 << 10, 300), ("4MiB", 4 << 20, 25)):
        body = os.urandom(size)
        t = time.monotonic()
        for i in range(n):
            s3.put_object(Bucket="bench", Key=f"{label}/{i}", Body=body)
        dt = time.monotonic() - t
        print(f"PUT {label}: {n / dt:.0f} obj/s, {n * size / dt / 1e6:.1f} MB/s")
    assert s3.get_object(Bucket="bench", Key="4MiB/0")["Body"].read() == body
    rss = int(open(f"/proc/{proc.pid}/status").read().split("VmRSS:")[1].split()[0]) // 1024
    print(f"startup to first ListBuckets: {ready:.2f} s; server RSS after load: {rss} MiB")
finally:
    proc.terminate()
    try: proc.wait(10)
    except subprocess.TimeoutExpired: proc.kill()
    shutil.rmtree(data, ignore_errors=True)
