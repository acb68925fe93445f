#!/usr/bin/env python3
# A stand-in for the node helper `sandboxer-node` (docs/backends/byok-node-protocol.md) for the BYOK
# tests while the real one (C, LocalVM's isolation) is not built: the same verbs, JSON and frames, no
# isolation (commands run on the host in the sandbox's directory). Never shipped.
import hashlib, json, os, signal, struct, subprocess, sys, tarfile, io, threading, time, shutil

def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n"); sys.stdout.flush(); sys.exit(0)

def fail(code, message):
    out({"ok": False, "code": code, "message": message})

def args_of(argv):
    opts, multi, rest, i = {}, {}, [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest = argv[i + 1:]; break
        if a.startswith("--") and i + 1 < len(argv):
            if a in ("--env", "--label"):
                multi.setdefault(a, []).append(argv[i + 1])
            else:
                opts[a] = argv[i + 1]
            i += 2; continue
        fail("invalid_request", "Unexpected argument %s." % a)
    return opts, multi, rest

def alive(pid, start):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0] != "Z" and int(fields[19]) == start
    except (OSError, IndexError, ValueError):
        return False

def start_time(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])

def now_ms():
    return int(time.time() * 1000)

def main():
    argv = sys.argv[1:]
    if len(argv) < 3 or argv[0] != "--node-dir":
        fail("invalid_request", "Usage: --node-dir DIR VERB [args].")
    node = argv[1]; verb = argv[2]
    opts, multi, rest = args_of(argv[3:])
    for d in ("blobs", "sandboxes"):
        os.makedirs(os.path.join(node, d), exist_ok=True)
    sbx = lambda i: os.path.join(node, "sandboxes", i)
    def meta(i):
        try:
            with open(os.path.join(sbx(i), "meta.json")) as f: return json.load(f)
        except OSError:
            fail("not_found", "No sandbox %s exists on this host." % i)
    def save(i, m):
        tmp = os.path.join(sbx(i), "meta.json.tmp")
        with open(tmp, "w") as f: json.dump(m, f)
        os.rename(tmp, os.path.join(sbx(i), "meta.json"))

    if verb == "version":
        out({"ok": True, "protocol": 1, "version": "fake-0"})
    if verb == "put-blob":
        hexd = opts.get("--sha256", "")
        data = sys.stdin.buffer.read()
        if hashlib.sha256(data).hexdigest() != hexd:
            fail("invalid_request", "The blob does not have the sha256 it was sent under.")
        path = os.path.join(node, "blobs", hexd)
        existed = os.path.exists(path)
        if not existed:
            with open(path + ".tmp", "wb") as f: f.write(data)
            os.rename(path + ".tmp", path)
        out({"ok": True, "existed": existed, "size_bytes": len(data)})
    if verb == "create":
        i = opts.get("--id", ""); image = opts.get("--image", "")
        ttl = int(opts.get("--ttl-seconds", "0"))
        if not os.path.exists(os.path.join(node, "blobs", image)):
            fail("invalid_request", "The image %s has not been pushed." % image)
        # Labels take part in the comparison, as in sandboxer-node (sorted: their order does not).
        request = {"image": image, "snapshot": opts.get("--snapshot"), "env": multi.get("--env", []),
                   "labels": sorted(multi.get("--label", []))}
        if os.path.exists(os.path.join(sbx(i), "meta.json")):
            m = meta(i)
            if m["request"] == request: out({"ok": True, "ref": i, "pid": m["pid"]})
            fail("invalid_request", "A different sandbox %s exists." % i)
        os.makedirs(os.path.join(sbx(i), "upper"), exist_ok=True)
        snap = opts.get("--snapshot")
        if snap:
            with tarfile.open(os.path.join(node, "blobs", snap), "r:gz") as t:
                t.extractall(os.path.join(sbx(i), "upper"))
        labels = dict(l.split("=", 1) for l in multi.get("--label", []))
        m = {"id": i, "pid": 0, "start": 0, "deadline_unix_ms": now_ms() + ttl * 1000, "labels": labels,
             "created_unix_ms": now_ms(), "request": request}
        save(i, m)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            # The init: detached, ends the sandbox at its deadline (re-read, so set-timeout moves it).
            os.setsid()
            if os.fork() != 0: os._exit(0)
            os.close(r)
            devnull = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2): os.dup2(devnull, fd)
            os.write(w, struct.pack("!I", os.getpid())); os.close(w)
            while True:
                try:
                    with open(os.path.join(sbx(i), "meta.json")) as f: deadline = json.load(f)["deadline_unix_ms"]
                except (OSError, ValueError, KeyError):
                    os._exit(0)
                left = deadline - now_ms()
                if left <= 0:
                    try: os.killpg(os.getpgid(0), signal.SIGKILL)
                    finally: os._exit(0)
                time.sleep(min(left / 1000.0, 0.2))
        os.close(w)
        os.waitpid(pid, 0)
        init = struct.unpack("!I", os.read(r, 4))[0]
        m["pid"] = init; m["start"] = start_time(init)
        save(i, m)
        # A test's handshake: with these FIFOs in node_dir, say the sandbox is made, then wait to be let go.
        reached, hold = os.path.join(node, "create-reached"), os.path.join(node, "create-hold")
        if os.path.exists(reached) and os.path.exists(hold):
            with open(reached, "w") as f: f.write(i + "\n")
            with open(hold) as f: f.read()
        out({"ok": True, "ref": i, "pid": init})
    if verb == "destroy":
        i = opts.get("--id", "")
        if not os.path.exists(sbx(i)): out({"ok": True, "existed": False})
        try:
            m = meta(i)
            if alive(m["pid"], m["start"]): os.killpg(m["pid"], signal.SIGKILL)
        except (SystemExit, OSError, KeyError):
            pass
        shutil.rmtree(sbx(i), ignore_errors=True)
        out({"ok": True, "existed": True})
    if verb == "inventory":
        items = []
        for i in sorted(os.listdir(os.path.join(node, "sandboxes"))):
            try:
                with open(os.path.join(sbx(i), "meta.json")) as f: m = json.load(f)
            except (OSError, ValueError):
                continue
            items.append({"id": i, "pid": m["pid"], "alive": alive(m["pid"], m["start"]),
                          "deadline_unix_ms": m["deadline_unix_ms"], "labels": m["labels"],
                          "created_unix_ms": m["created_unix_ms"]})
        out({"ok": True, "sandboxes": items})
    if verb == "set-timeout":
        i = opts.get("--id", ""); m = meta(i)
        m["deadline_unix_ms"] = now_ms() + int(opts.get("--ttl-seconds", "0")) * 1000
        save(i, m)
        out({"ok": True})
    if verb == "gc":
        out({"ok": True})
    lock = threading.Lock()
    def frame(t, payload):
        with lock:
            sys.stdout.buffer.write(struct.pack("!BI", t, len(payload)) + payload); sys.stdout.buffer.flush()
    if verb == "snapshot":
        m = meta(opts.get("--id", ""))
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as t:
            t.add(os.path.join(sbx(m["id"]), "upper"), arcname=".")
        data = buf.getvalue()
        for k in range(0, len(data), 65536): frame(1, data[k:k + 65536])
        frame(3, json.dumps({"size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}).encode())
        sys.exit(0)
    if verb == "exec":
        i = opts.get("--id", ""); m = meta(i)
        if not alive(m["pid"], m["start"]):
            frame(3, json.dumps({"error": {"code": "not_found", "message": "The sandbox %s is not running." % i}}).encode()); sys.exit(0)
        env = {"PATH": "/usr/bin:/bin", "HOME": "/root"}
        for kv in m["request"]["env"] + multi.get("--env", []):
            k, v = kv.split("=", 1); env[k] = v
        try:
            child = subprocess.Popen(rest, cwd=os.path.join(sbx(i), "upper"), env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            frame(2, ("sandboxer: %s: %s\n" % (rest[0] if rest else "", e.strerror)).encode())
            frame(3, json.dumps({"exit_code": 127, "timed_out": False, "signal": None}).encode()); sys.exit(0)
        state = {"timed_out": False}
        def kill():
            try: os.killpg(child.pid, signal.SIGKILL)
            except OSError: pass
        def watch_stdin():
            inp = sys.stdin.buffer
            ended = False
            while True:
                head = inp.read(5)
                if len(head) < 5: kill(); return  # the controller is gone: the watchdog
                t, n = struct.unpack("!BI", head)
                payload = inp.read(n) if n else b""
                if t == 1 and not ended:
                    try: child.stdin.write(payload); child.stdin.flush()
                    except OSError: pass
                elif t == 2 and not ended:
                    ended = True
                    try: child.stdin.close()
                    except OSError: pass
        def pump(src, t):
            while True:
                chunk = os.read(src.fileno(), 65536)
                if not chunk: return
                frame(t, chunk)
        threading.Thread(target=watch_stdin, daemon=True).start()
        pumps = [threading.Thread(target=pump, args=(child.stdout, 1)), threading.Thread(target=pump, args=(child.stderr, 2))]
        for p in pumps: p.start()
        timeout = opts.get("--timeout-ms")
        if timeout:
            def expire():
                state["timed_out"] = True; kill()
            timer = threading.Timer(int(timeout) / 1000.0, expire); timer.daemon = True; timer.start()
        rc = child.wait()
        for p in pumps: p.join()
        sig = -rc if rc < 0 else None
        frame(3, json.dumps({"exit_code": 128 + sig if sig else rc, "timed_out": state["timed_out"], "signal": sig}).encode())
        sys.stdout.flush(); os._exit(0)
    fail("invalid_request", "Unknown verb %s." % verb)

main()
