#!/usr/bin/env python3
"""Writes the benchmark request bodies (deterministic, seed 42) into a directory.

  gen_payloads.py OUTDIR [--batch N] [--large-batch N]

  large.json        one envelope, 2048-float ResNet50-like embedding  (~21.7 KB)
  small.json        one envelope, 16-float embedding                  (~1 KB)
  batch_small.json  JSON array of N small envelopes                   (default N=100)
  batch_large.json  JSON array of N large envelopes                   (default N=10)

Every event_id is the literal placeholder __EID__: bench/wrk/*.lua replace it per request with a
unique id (thread-counter-index), so the servers see distinct events. The same bodies feed
worker_bench.py's Kafka loader.
"""
import json
import random
import sys


def envelope(rng: random.Random, dims: int) -> dict:
    rich = dims > 64  # the small record carries the minimal attributes
    emb = [round(abs(rng.gauss(0.45, 0.35)), 7) for _ in range(dims)]  # pooled, non-negative
    return {
        "schema_version": "ca4.metadata/v1",
        "event_id": "__EID__",
        "source": {"producer": "colab-notebook", "producer_version": "1.4.2",
                   "host": "colab-t4-7f3a", "run_id": "run-2026-11-23-001"},
        "item": {"uri": "s3://ca4-raw/images/2026/11/23/img_000123.jpg",
                 "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                 "kind": "image", "size_bytes": 183204, "width": 1024, "height": 768,
                 "channels": 3, "mime_type": "image/jpeg"},
        "extraction": {"model": {"name": "resnet50", "version": "torchvision-0.19/IMAGENET1K_V2"},
                       "embedding": emb,
                       "device": {"type": "gpu", "name": "Tesla T4", "memory_mb": 15360,
                                  "driver": "535.104.05"}},
        "timings": {"preprocess_ms": 3.41, "inference_ms": 11.87, "total_ms": 15.9},
        "produced_at": "2026-11-23T12:00:00.123456Z",
        "attributes": {"dataset": "imagenet-val-subset", "split": "train"} if not rich else {"dataset": "imagenet-val-subset", "split": "train", "label": "n02123045",
                       "label_name": "tabby, tabby cat", "top5": "n02123045,n02123159,n02124075,n02127052,n04040759",
                       "notebook": "https://colab.research.google.com/drive/1Xx-ca4-gpu-metadata-producer-notebook",
                       "git_sha": "3f9c2e1d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d", "preprocess": "resize256-centercrop224-normalize",
                       "pool": "global-avg", "dtype": "float32", "batch_index": "17", "image_source": "camera-bucket-eu-west-1",
                       "operator": "gpu-team", "purpose": "similarity-index", "retention": "90d", "owner": "ml-platform"},
    }


def dump(obj) -> str:
    return json.dumps(obj, separators=(",", ":"))


def main() -> None:
    out = sys.argv[1]
    args = sys.argv[2:]
    batch = int(args[args.index("--batch") + 1]) if "--batch" in args else 100
    lbatch = int(args[args.index("--large-batch") + 1]) if "--large-batch" in args else 10
    rng = random.Random(42)
    large, small = envelope(rng, 2048), envelope(rng, 16)
    files = {
        "large.json": dump(large),
        "small.json": dump(small),
        "batch_small.json": "[" + ",".join(dump(envelope(rng, 16)) for _ in range(batch)) + "]",
        "batch_large.json": "[" + ",".join(dump(envelope(rng, 2048)) for _ in range(lbatch)) + "]",
    }
    for name, body in files.items():
        with open(f"{out}/{name}", "w") as f:
            f.write(body)
        print(f"{name}\t{len(body)}\t{body.count('__EID__')}")


if __name__ == "__main__":
    main()
