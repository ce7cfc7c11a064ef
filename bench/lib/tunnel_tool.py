#!/usr/bin/env python3
"""Helpers for bench/tunnel_bench.sh (standard library only).

  echo-server --host H --port P            TCP echo server (threads), runs until killed
  setup --port P --pidfile F --log L [--timeout S] -- CMD...
      starts CMD (own session, output to L, pid to F) and times it from the spawn to the first
      1-byte echo round trip through 127.0.0.1:P; prints "PID MS"
  rtt --port P [-n 50]                     N sequential connect + 1 byte out + 1 byte back + close
                                           through 127.0.0.1:P; prints one time (ms) a line
  iperf --port P --streams N --duration D [--reverse] --client-pid PID --server-ns NS --json F
      runs iperf3 -c 127.0.0.1 -p P -O 1 -J against the tunnel and samples /proc before and after:
      the tunnel client's CPU per thread (PID's tasks) and the bastion's (every process in
      network namespace NS). Prints one line of key=value (mbps_rx, mbps_tx, client_cpu_pct,
      server_cpu_pct, threads=comm/tid:pct,...)
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def echo_server(a):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.host, a.port))
    srv.listen(128)

    def serve(c):
        with c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def round_trip(port, timeout):
    """connect + 1 byte + 1 byte back; True if echoed, False if refused/reset/closed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.connect(("127.0.0.1", port))
        s.sendall(b"x")
        return s.recv(1) == b"x"
    except OSError:
        return False
    finally:
        s.close()


def setup(a):
    log = open(a.log, "ab")
    t0 = time.monotonic()
    p = subprocess.Popen(a.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                         start_new_session=True)
    with open(a.pidfile, "w") as f:
        f.write(f"{p.pid}\n")
    deadline = t0 + a.timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            print(f"{p.pid} exited with {p.returncode} before the tunnel worked", file=sys.stderr)
            sys.exit(1)
        if round_trip(a.port, max(0.05, deadline - time.monotonic())):
            print(f"{p.pid} {(time.monotonic() - t0) * 1000:.1f}")
            return
        time.sleep(0.005)
    print(f"{p.pid}: no echo through 127.0.0.1:{a.port} after {a.timeout} s", file=sys.stderr)
    sys.exit(1)


def rtt(a):
    out = []
    for _ in range(a.n):
        t = time.monotonic()
        if not round_trip(a.port, 10):
            print(f"round trip through 127.0.0.1:{a.port} failed", file=sys.stderr)
            sys.exit(1)
        out.append((time.monotonic() - t) * 1000)
    print("\n".join(f"{v:.3f}" for v in out))


def ticks(pid):
    """{tid: (comm, utime+stime)} for every thread of pid (empty if gone)."""
    r = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return r
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        fields = s[s.rindex(")") + 2:].split()
        r[int(tid)] = (comm, int(fields[11]) + int(fields[12]))
    return r


def schedstat(pid):
    """{tid: (ns on a CPU, ns runnable but waiting for one)} for every thread of pid"""
    r = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return r
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                run, wait = f.read().split()[:2]
            r[int(tid)] = (int(run), int(wait))
        except (OSError, ValueError):
            continue
    return r


def ns_pids(ns):
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def iperf(a):
    c0, q0 = ticks(a.client_pid), schedstat(a.client_pid)
    s0 = {p: ticks(p) for p in ns_pids(a.server_ns)}
    t0 = time.monotonic()
    cmd = ["iperf3", "-c", "127.0.0.1", "-p", str(a.port), "-t", str(a.duration), "-O", "1",
           "-P", str(a.streams), "-J"] + (["-R"] if a.reverse else [])
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0 and ("busy" in res.stdout or "closed unexpectedly" in res.stdout):
        # the server was still busy with a previous client (one test at a time): once more
        print(f"iperf3: {res.stdout.strip()[-120:]!r}; retrying in 1 s", file=sys.stderr)
        time.sleep(1)
        c0, q0 = ticks(a.client_pid), schedstat(a.client_pid)
        s0 = {p: ticks(p) for p in ns_pids(a.server_ns)}
        t0 = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    c1, q1 = ticks(a.client_pid), schedstat(a.client_pid)
    s1 = {p: ticks(p) for p in ns_pids(a.server_ns)}
    with open(a.json, "w") as f:
        f.write(res.stdout)
    try:
        j = json.loads(res.stdout)
    except ValueError:
        print(f"iperf3 failed ({res.returncode}): {res.stderr.strip()}", file=sys.stderr)
        sys.exit(1)
    if "error" in j or res.returncode != 0:
        print(f"iperf3 failed: {j.get('error', res.stderr.strip())}", file=sys.stderr)
        sys.exit(1)
    end = j["end"]
    rx = end["sum_received"]["bits_per_second"] / 1e6
    tx = end["sum_sent"]["bits_per_second"] / 1e6

    def pct(t):
        return 100.0 * t / TICK / wall

    threads = []
    client = 0
    for tid, (comm, t) in c1.items():
        d = t - c0.get(tid, (comm, 0))[1]
        client += d
        threads.append((d, f"{comm}/{tid}"))
    serv = 0
    for p, th in s1.items():
        for tid, (comm, t) in th.items():
            serv += t - s0.get(p, {}).get(tid, (comm, 0))[1]
    threads.sort(reverse=True)
    top = ",".join(f"{name.replace(' ', '_')}:{pct(d):.0f}" for d, name in threads[:6] if d > 0)
    # the busiest thread: % of the wall time on a CPU / runnable but waiting for a CPU / asleep
    busy = max(q1, key=lambda t: q1[t][0] - q0.get(t, (0, 0))[0], default=None)
    sched = "-"
    if busy is not None:
        run = (q1[busy][0] - q0.get(busy, (0, 0))[0]) / 1e9 / wall * 100
        wait = (q1[busy][1] - q0.get(busy, (0, 0))[1]) / 1e9 / wall * 100
        sched = f"{run:.0f}/{wait:.0f}/{max(0, 100 - run - wait):.0f}"
    print(f"mbps_rx={rx:.1f} mbps_tx={tx:.1f} client_cpu_pct={pct(client):.0f} "
          f"server_cpu_pct={pct(serv):.0f} iperf_local_cpu_pct={end['cpu_utilization_percent']['host_total']:.0f} "
          f"wall_s={wall:.1f} busiest_run_wait_sleep_pct={sched} threads={top or '-'}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("echo-server")
    e.add_argument("--host", default="0.0.0.0")
    e.add_argument("--port", type=int, required=True)
    s = sub.add_parser("setup")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--pidfile", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--timeout", type=float, default=30)
    s.add_argument("command", nargs=argparse.REMAINDER)
    r = sub.add_parser("rtt")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("-n", type=int, default=50)
    i = sub.add_parser("iperf")
    i.add_argument("--port", type=int, required=True)
    i.add_argument("--streams", type=int, default=1)
    i.add_argument("--duration", type=int, default=10)
    i.add_argument("--reverse", action="store_true")
    i.add_argument("--client-pid", type=int, required=True)
    i.add_argument("--server-ns", required=True)
    i.add_argument("--json", required=True)
    a = ap.parse_args()
    if a.cmd == "setup":
        a.command = a.command[1:] if a.command[:1] == ["--"] else a.command
        if not a.command:
            ap.error("setup needs a command after --")
    {"echo-server": echo_server, "setup": setup, "rtt": rtt, "iperf": iperf}[a.cmd](a)

if __name__ == "__main__":
    main()
