#!/usr/bin/env python3
"""Small helpers for the bench drivers (run with the bench venv: kafka-python, pymongo).

  kafkatool.py create-topic BOOTSTRAP TOPIC PARTITIONS
  kafkatool.py load BOOTSTRAP TOPIC BODY_FILE N RUN_ID        # N records, unique event_ids
  kafkatool.py wait-count MONGO_URI DB COLL N TIMEOUT_S        # polls until count >= N
  kafkatool.py drop MONGO_URI DB COLL
  kafkatool.py check MONGO_URI DB COLL                         # prints one document's keys

load: BODY_FILE is one envelope with the placeholder __EID__ (bench/lib/gen_payloads.py); each
record is keyed by its event_id (as ca4-processor keys them) and published with acks=all.
wait-count prints one line "CA4_COUNT first_s=.. done_s=.. n=.." where first_s is when the first
document appeared and done_s when N were there, both measured from the command's start.
"""
import sys
import time


def create_topic(bootstrap: str, topic: str, partitions: str) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    try:
        admin.create_topics([NewTopic(topic, int(partitions), 1)], timeout_ms=30000)
    except TopicAlreadyExistsError:
        pass
    deadline = time.time() + 30
    while topic not in admin.list_topics():
        if time.time() > deadline:
            sys.exit(f"topic {topic} not visible after 30 s")
        time.sleep(0.2)
    admin.close()


def load(bootstrap: str, topic: str, body_file: str, n: str, run_id: str) -> None:
    from kafka import KafkaProducer

    tmpl = open(body_file, "rb").read()
    pre, post = tmpl.split(b"__EID__", 1)
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                      batch_size=1 << 20, max_request_size=8 << 20)
    t0 = time.time()
    futs = []
    for i in range(int(n)):
        eid = f"w{run_id}-{i}".encode()
        futs.append(p.send(topic, key=eid, value=pre + eid + post))
    p.flush()
    for f in futs:
        f.get(timeout=60)
    p.close()
    dt = time.time() - t0
    print(f"CA4_LOAD n={n} seconds={dt:.2f} bytes_per_record={len(tmpl)}")


def wait_count(uri: str, db: str, coll: str, n: str, timeout: str) -> None:
    from pymongo import MongoClient

    c = MongoClient(uri)[db][coll]
    want, t0, first = int(n), time.time(), None
    last = -1
    while True:
        cnt = c.estimated_document_count()
        now = time.time() - t0
        if cnt > 0 and first is None:
            first = now
        if cnt != last:
            print(f"  count={cnt} t={now:.1f}s", file=sys.stderr, flush=True)
            last = cnt
        if cnt >= want:
            print(f"CA4_COUNT first_s={first:.3f} done_s={now:.3f} n={cnt}")
            return
        if now > float(timeout):
            print(f"CA4_COUNT first_s={first if first is None else round(first, 3)} done_s=timeout n={cnt}")
            sys.exit(1)
        time.sleep(0.25)


def drop(uri: str, db: str, coll: str) -> None:
    from pymongo import MongoClient

    MongoClient(uri)[db].drop_collection(coll)


def check(uri: str, db: str, coll: str) -> None:
    from pymongo import MongoClient

    d = MongoClient(uri)[db][coll].find_one()
    print({k: (type(v).__name__ if k != "_id" else v) for k, v in (d or {}).items()})


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"create-topic": create_topic, "load": load, "wait-count": wait_count,
     "drop": drop, "check": check}[cmd](*args)
