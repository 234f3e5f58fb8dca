"""The programs the soak runs on the Linux hosts (each in its network namespace, as
`python3 -c PROGRAM ARGS...`). Each stops once the file STOP exists and prints one line
per result, which soak.py reads when the run is over.

- TCP_SERVER: accepts any number of connections; each sends a header line `ID SIZE`,
  then SIZE bytes. Prints `ID BYTES SHA256 ok|error:...` per connection and sends the
  client `BYTES SHA256`.
- TCP_CLIENT: transfers of random sizes (seeded random bytes), paced, one after the
  other, to the server given. Prints `ID SIZE SHA256 SERVER_BYTES SERVER_SHA256` per
  transfer, or `ID SIZE SHA256 error:...`.
- UDP_SENDER: datagrams of random sizes up to 1276 bytes of IPv4 (no DF), each `SEQ`
  then a pad derived from SEQ, at a fixed rate. Prints `sent N` at the end. Not larger:
  the soak lowers the ports' MTUs to 1280 at times, and a veth (as any Linux device)
  drops a received frame over its MTU, so bigger datagrams from the 1500-byte hosts
  would be lost on the way in, as they would be at a Linux router's port.
- UDP_RECEIVER: counts distinct sequence numbers and checks every pad. Prints
  `received N dup D corrupt C`.
"""

TCP_SERVER = r"""
import hashlib, os, socket, sys, threading
stop, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port)); s.listen(64); s.settimeout(0.5)
lock = threading.Lock()
def serve(c):
    c.settimeout(120); f = c.makefile("rb"); h = hashlib.sha256(); n = 0; tid = "?"
    try:
        tid = f.readline().decode().split()[0]
        while True:
            b = f.read1(1 << 16)
            if not b: break
            h.update(b); n += len(b)
        status = "ok"
        c.sendall(b"%d %s\n" % (n, h.hexdigest().encode()))
    except (OSError, IndexError, UnicodeDecodeError) as e:
        status = "error:" + repr(e).replace(" ", "_")
    finally:
        c.close()
    with lock: print(tid, n, h.hexdigest(), status, flush=True)
print("ready", flush=True)
while not os.path.exists(stop):
    try: c, _ = s.accept()
    except socket.timeout: continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
# Let transfers in progress finish (their clients stop once the current one is done).
for t in threading.enumerate():
    if t is not threading.main_thread(): t.join(180)
"""

TCP_CLIENT = r"""
import hashlib, os, random, socket, sys, time
stop, name, dst, port, rate, seed, lo, hi = sys.argv[1:9]
port, rate, lo, hi = int(port), int(rate), int(lo), int(hi)
rng = random.Random(int(seed)); i = 0
while not os.path.exists(stop):
    i += 1; tid = f"{name}-{i}"; size = rng.randint(lo, hi)
    data = random.Random(f"{seed}-{i}").randbytes(size)
    sha = hashlib.sha256(data).hexdigest()
    try:
        s = socket.create_connection((dst, port), timeout=30); s.settimeout(120)
        s.sendall(f"{tid} {size}\n".encode())
        start, off, chunk = time.monotonic(), 0, 16 << 10
        while off < size:
            s.sendall(data[off:off + chunk]); off += chunk
            delay = start + off / rate - time.monotonic()
            if delay > 0: time.sleep(delay)
        s.shutdown(socket.SHUT_WR)
        reply = s.makefile("rb").readline().decode().split()
        s.close()
        if len(reply) != 2: raise OSError(f"no answer from the server: {reply}")
        print(tid, size, sha, reply[0], reply[1], flush=True)
    except OSError as e:
        print(tid, size, sha, "error:" + repr(e).replace(" ", "_"), flush=True)
        time.sleep(1)
    time.sleep(rng.random() * 0.5)
"""

UDP_SENDER = r"""
import hashlib, os, random, socket, sys, time
stop, src, dst, port, pps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 0)  # IP_MTU_DISCOVER = IP_PMTUDISC_DONT: no DF
s.bind((src, 0)); rng = random.Random(7); seq = 0; errors = 0
start = time.monotonic()
while not os.path.exists(stop):
    seq += 1
    pad = hashlib.sha256(b"%d" % seq).digest() * 45
    try: s.sendto(b"%d " % seq + pad[:rng.randint(16, 1240)], (dst, port))
    except OSError: errors += 1
    delay = start + seq / pps - time.monotonic()
    if delay > 0: time.sleep(delay)
print("sent", seq, "send_errors", errors, flush=True)
"""

UDP_RECEIVER = r"""
import hashlib, os, socket, sys, time
stop, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((addr, port)); s.settimeout(0.5)
seen = set(); dup = corrupt = 0; quiet_since = None
print("ready", flush=True)
while True:
    try:
        b = s.recv(4096)
    except socket.timeout:
        if os.path.exists(stop):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 2: break
        continue
    head, _, pad = b.partition(b" ")
    try: seq = int(head)
    except ValueError: corrupt += 1; continue
    if pad != (hashlib.sha256(head).digest() * 45)[:len(pad)]: corrupt += 1; continue
    if seq in seen: dup += 1
    seen.add(seq)
print("received", len(seen), "dup", dup, "corrupt", corrupt, flush=True)
"""
