#!/usr/bin/env python3
"""bench/smaps-summary.py PID: where a process's resident memory is, from /proc/PID/smaps.

Groups every mapping into one row per shared object (text, read-only data and writable data
apart), the brk heap, glibc malloc arenas, thread stacks, the main stack, and other anonymous
memory, and prints Rss, Pss, Private_Dirty and shared (clean + dirty) in kB, largest first.

Anonymous mappings are told apart by their shape, the way glibc makes them:
  - a thread stack is a read-write mapping right after a one-page (or larger) PROT_NONE guard
    below it (pthread_create allocates guard + stack in one mmap and mprotects the guard);
  - a malloc arena heap (a non-main arena, one per thread that mallocs, up to 8 x cores) is a
    read-write mapping starting on a 64 MiB boundary whose PROT_NONE remainder follows it, the
    two spanning at most 64 MiB (HEAP_MAX_SIZE);
  - everything else anonymous (large mallocs served by mmap, the Swift runtime's metadata
    allocator, ...) is "anon".
`--json` prints the rows as JSON instead (for bench scripts).
"""
import json
import os
import signal
import sys

ARENA_SIZE = 64 << 20


def parse(pid):
    maps = []
    current = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split(None, 5)
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                start, end = (int(x, 16) for x in head[0].split("-"))
                current = {"start": start, "end": end, "perms": head[1],
                           "path": head[5].strip() if len(head) > 5 else "", "fields": {}}
                maps.append(current)
            elif current is not None and head[0].endswith(":") and len(head) >= 2 and head[1].isdigit():
                current["fields"][head[0][:-1]] = int(head[1])
    return maps


def classify(maps):
    for i, m in enumerate(maps):
        path, perms = m["path"], m["perms"]
        prev = maps[i - 1] if i > 0 else None
        nxt = maps[i + 1] if i + 1 < len(maps) else None
        if path.startswith("/"):
            kind = {"r-xp": "text", "r--p": "ro", "rw-p": "data"}.get(perms, perms)
            m["group"] = f"{os.path.basename(path.split(' (deleted)')[0])} {kind}"
        elif path in ("[heap]", "[stack]", "[vdso]", "[vvar]", "[vsyscall]", "[vvar_vclock]"):
            m["group"] = "brk heap (main arena)" if path == "[heap]" else ("main stack" if path == "[stack]" else "kernel pages")
        elif perms == "---p":
            m["group"] = "reserved (PROT_NONE)"
        elif (perms == "rw-p" and m["start"] % ARENA_SIZE == 0 and nxt is not None and nxt["perms"] == "---p"
              and nxt["start"] == m["end"] and nxt["end"] - m["start"] <= ARENA_SIZE):
            m["group"] = "malloc arenas (threads)"
        elif perms == "rw-p" and m["start"] % ARENA_SIZE == 0 and m["end"] - m["start"] == ARENA_SIZE:
            m["group"] = "malloc arenas (threads)"
        elif perms == "rw-p" and prev is not None and prev["perms"] == "---p" and prev["end"] == m["start"]:
            m["group"] = "thread stacks"
        else:
            m["group"] = "anon"
    return maps


def summarize(maps):
    rows = {}
    for m in maps:
        f = m["fields"]
        row = rows.setdefault(m["group"], {"group": m["group"], "mappings": 0, "rss": 0, "pss": 0,
                                           "private_dirty": 0, "shared": 0})
        row["mappings"] += 1
        row["rss"] += f.get("Rss", 0)
        row["pss"] += f.get("Pss", 0)
        row["private_dirty"] += f.get("Private_Dirty", 0)
        row["shared"] += f.get("Shared_Clean", 0) + f.get("Shared_Dirty", 0)
    return sorted(rows.values(), key=lambda r: -r["rss"])


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` ends the listing quietly
    args = [a for a in sys.argv[1:] if a != "--json"]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    pid = args[0]
    rows = summarize(classify(parse(pid)))
    threads = len(os.listdir(f"/proc/{pid}/task"))
    if "--json" in sys.argv:
        print(json.dumps({"threads": threads, "rows": rows}))
        return
    total = {k: sum(r[k] for r in rows) for k in ("rss", "pss", "private_dirty", "shared")}
    print(f"{'mapping group':40} {'n':>4} {'Rss':>8} {'Pss':>8} {'PrivDirty':>9} {'Shared':>8}  (kB; {threads} threads)")
    for r in rows:
        if r["rss"] == 0:
            continue
        print(f"{r['group'][:40]:40} {r['mappings']:>4} {r['rss']:>8} {r['pss']:>8} {r['private_dirty']:>9} {r['shared']:>8}")
    print(f"{'total':40} {'':>4} {total['rss']:>8} {total['pss']:>8} {total['private_dirty']:>9} {total['shared']:>8}")


if __name__ == "__main__":
    main()
