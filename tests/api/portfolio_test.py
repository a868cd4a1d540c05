"""The portfolio keeps every change it acknowledged through kill -9 (issue 11).

usage: portfolio_test.py TICKD WORKDIR

`tickd run` (synthetic feed, the API on a free port, TICKD_API_TOKEN set)
takes a stream of writes: buys of one share at 1.00 (POST /trades), every
tenth a sale of one share back at 1.00 (PUT delta_shares -1).  The API is
killed with SIGKILL ten times at random moments, then every process of the
run at once, and the run started again.  Every acknowledged write must be
in the portfolio, at most the one in flight at a kill beside them, and the
cash must match the shares to the cent.  Also: writes without the token are
401 and change nothing.
"""
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

TICKD, W = sys.argv[1], sys.argv[2]
SHM = f"/dev/shm/tickd-portfolio-test-{os.getpid()}"
TOKEN = "s3cret-token"
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
PORT = sock.getsockname()[1]
sock.close()
env = dict(os.environ, TICKD_SHM_PATH=SHM, TICKD_API_TOKEN=TOKEN)
random.seed(3)


def start():
    log = open(f"{W}/run.log", "a")
    return subprocess.Popen([TICKD, "run", "--rate", "500", "--symbols", "4", "--start", "now",
                             "--data-dir", f"{W}/data", "--listen", f"127.0.0.1:{PORT}"],
                            env=env, stdout=log, stderr=log, start_new_session=True)


def call(method, path, body=None, token=TOKEN, timeout=10):
    """(status, body); status -1: refused (nothing was sent); OSError after sending."""
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=timeout)
    try:
        c.connect()
    except ConnectionRefusedError:
        return -1, b""
    h = {"Content-Type": "application/json"}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def wait_up(deadline=30):
    t = time.monotonic()
    while time.monotonic() - t < deadline:
        try:
            if call("GET", "/balance")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("FAIL: the API did not come up")


def api_pid():
    out = subprocess.run(["pgrep", "-f", f"tickd api --shm-path {SHM}"], capture_output=True,
                         text=True).stdout.split()
    return int(out[0]) if out else None


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    stop_all()
    sys.exit(1)


run = start()


def stop_all():
    """SIGKILL to the run and every process of it (its children are in
    groups of their own: each is named by the segment on its command line)."""
    try:
        os.kill(run.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    run.wait()
    subprocess.run(["pkill", "-9", "-f", "--", f"--shm-path {SHM}"], capture_output=True)
    for _ in range(100):
        if subprocess.run(["pgrep", "-f", "--", f"--shm-path {SHM}"], capture_output=True).returncode != 0:
            return
        time.sleep(0.05)
    print("FAIL: processes of the run survived SIGKILL", file=sys.stderr)


wait_up()
# Without the token, or with a wrong one: 401, nothing changes.
for tok in (None, "wrong", TOKEN + "x", ""):
    st, body = call("POST", "/trades", {"symbol": "AAPL", "shares": 1, "buy_price": 1}, token=tok)
    if st != 401:
        fail(f"a write with token {tok!r}: {st} {body[:200]}")
st, body = call("GET", "/balance", token=None)
if st != 200 or json.loads(body)["balance"] != 100000:
    fail(f"reads need no token, and the 401s changed nothing: {st} {body}")

acked = {"buy": 0, "sell": 0}
inflight = {"n": 0}
stop = threading.Event()


def writer():
    i = 0
    while not stop.is_set():
        sell = i % 10 == 9 and acked["buy"] - acked["sell"] > 0
        inflight["n"] += 1
        try:
            if sell:
                st, body = call("PUT", "/trades/AAPL", {"delta_shares": -1, "new_price": 1})
            else:
                st, body = call("POST", "/trades", {"symbol": "AAPL", "shares": 1, "buy_price": 1})
        except OSError:
            st = 0  # the API was killed under this request: it may or may not have landed
        if st == -1:
            inflight["n"] -= 1  # never reached a server
            time.sleep(0.05)
            continue
        if st in (200, 201):
            acked["sell" if sell else "buy"] += 1
            inflight["n"] -= 1
        elif st == 0:
            pass  # stays counted as in flight
        else:
            inflight["n"] -= 1
            if not (st == 503 or (st == 404 and sell)):
                print(f"write answered {st}: {body[:200]}", file=sys.stderr)
        if st == 0:
            time.sleep(0.05)
        i += 1


t = threading.Thread(target=writer)
t.start()
kills = 0
for k in range(10):
    time.sleep(random.uniform(0.3, 1.2))
    pid = api_pid()
    if pid is not None:
        os.kill(pid, signal.SIGKILL)
        kills += 1
    time.sleep(0.2)
# Then every process of the run at once, and a new run on the same data.
time.sleep(0.5)
stop_all()
time.sleep(0.5)
run = start()
wait_up()
time.sleep(1.0)
stop.set()
t.join()

st, body = call("GET", "/portfolio")
p = json.loads(body)
pos = {x["symbol"]: x for x in p["positions"]}
shares = pos["AAPL"]["shares"] if "AAPL" in pos else 0
want = acked["buy"] - acked["sell"]
print(f"{acked['buy']} buys and {acked['sell']} sales acknowledged, {kills} kills of the API and "
      f"one of every process; {inflight['n']} writes unanswered; the portfolio holds {shares} shares")
if not (want - inflight["n"] <= shares <= want + inflight["n"]):
    fail(f"holds {shares} shares, acknowledged {want} (+/- {inflight['n']} unanswered)")
if abs(p["balance"] + shares * 1.0 - 100000) > 1e-6:
    fail(f"balance {p['balance']} does not match {shares} shares bought at 1.00")
if acked["buy"] < 20 or kills < 8:
    fail(f"too little happened: {acked}, {kills} kills")

# A second API on the same portfolio while the run's keeps it: it serves
# the rest at once and answers the portfolio 503; once the first is gone it
# takes the portfolio, as it was.
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
PORT2 = sock.getsockname()[1]
sock.close()
log2 = open(f"{W}/api2.log", "w")
api2 = subprocess.Popen([TICKD, "api", "--listen", f"127.0.0.1:{PORT2}", "--data-dir", f"{W}/data"],
                        env=env, stdout=log2, stderr=log2)


def get2(path):
    c = http.client.HTTPConnection("127.0.0.1", PORT2, timeout=5)
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.getheader("Retry-After"), r.read()


for _ in range(100):
    try:
        if get2("/symbols")[0] == 200:
            break
    except OSError:
        time.sleep(0.1)
else:
    api2.kill()
    fail("a second API on a kept portfolio does not serve")
st, retry, body = get2("/portfolio")
if st != 503 or retry != "1" or b"kept by another tickd api" not in body:
    api2.kill()
    fail(f"the second API's /portfolio while the first keeps it: {st} {retry} {body[:200]}")
stop_all()
for _ in range(60):
    st, retry, body = get2("/portfolio")
    if st == 200:
        break
    time.sleep(0.1)
api2.kill()
api2.wait()
if st != 200:
    fail(f"the second API never took the portfolio: {st} {body[:200]}")
p2 = json.loads(body)
if p2["balance"] != p["balance"] or [x["shares"] for x in p2["positions"]] != [x["shares"] for x in p["positions"]]:
    fail(f"the second API's portfolio differs: {p2} vs {p}")
print("a second API served at once beside a kept portfolio (503, Retry-After: 1) and took it when let go")
for f in os.listdir("/dev/shm"):
    if f.startswith(os.path.basename(SHM)):
        os.unlink("/dev/shm/" + f)
print("PASS: portfolio through kill -9")
